import { Migration } from '@mikro-orm/migrations';

export class Migration20261128034652_initial_schema extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create table "movies" ("id" uuid not null, "title" varchar(200) not null, "duration_minutes" int not null, "rating" varchar(10) null, "synopsis" text null, "created_at" timestamptz not null, constraint "movies_pkey" primary key ("id"));`);

    this.addSql(`create table "outbox_events" ("id" uuid not null, "type" varchar(64) not null, "payload" jsonb not null, "occurred_at" timestamptz not null, "published_at" timestamptz null, constraint "outbox_events_pkey" primary key ("id"));`);
    this.addSql(`create index "outbox_events_unpublished_index" on "outbox_events" ("occurred_at") where "published_at" is null;`);

    this.addSql(`create table "processed_messages" ("consumer" varchar(64) not null, "message_id" varchar(64) not null, "processed_at" timestamptz not null, constraint "processed_messages_pkey" primary key ("consumer", "message_id"));`);

    this.addSql(`create table "rooms" ("id" uuid not null, "name" varchar(100) not null, "rows" int not null, "seats_per_row" int not null, "created_at" timestamptz not null, constraint "rooms_pkey" primary key ("id"));`);
    this.addSql(`alter table "rooms" add constraint "rooms_name_unique" unique ("name");`);

    this.addSql(`create table "sessions" ("id" uuid not null, "movie_id" uuid not null, "room_id" uuid not null, "starts_at" timestamptz not null, "price_cents" int not null, "currency" varchar(3) not null default 'BRL', "created_at" timestamptz not null, constraint "sessions_pkey" primary key ("id"));`);
    this.addSql(`create index "sessions_movie_id_index" on "sessions" ("movie_id");`);
    this.addSql(`create index "sessions_starts_at_index" on "sessions" ("starts_at");`);

    this.addSql(`create table "session_seats" ("id" uuid not null, "session_id" uuid not null, "row" varchar(3) not null, "number" int not null, "label" varchar(8) not null, constraint "session_seats_pkey" primary key ("id"));`);
    this.addSql(`alter table "session_seats" add constraint "session_seats_position_unique" unique ("session_id", "row", "number");`);

    this.addSql(`create table "users" ("id" uuid not null, "name" varchar(120) not null, "email" varchar(254) not null, "birth_date" date null, "created_at" timestamptz not null, constraint "users_pkey" primary key ("id"));`);
    this.addSql(`alter table "users" add constraint "users_email_unique" unique ("email");`);

    this.addSql(`create table "orders" ("id" uuid not null, "user_id" uuid not null, "session_id" uuid not null, "hold_id" uuid not null, "status" text check ("status" in ('processing', 'paid', 'declined', 'refunded', 'failed')) not null, "total_cents" int not null, "currency" varchar(3) not null, "method" varchar(32) not null, "card_last4" varchar(4) null, "created_at" timestamptz not null, "paid_at" timestamptz null, "refunded_at" timestamptz null, constraint "orders_pkey" primary key ("id"));`);
    this.addSql(`create index "orders_user_created_index" on "orders" ("user_id", "created_at");`);

    this.addSql(`create table "tickets" ("id" uuid not null, "order_id" uuid not null, "seat_id" uuid not null, "status" text check ("status" in ('active', 'refunded')) not null default 'active', "price_cents" int not null, "created_at" timestamptz not null, constraint "tickets_pkey" primary key ("id"));`);
    this.addSql(`create index "tickets_order_id_index" on "tickets" ("order_id");`);
    this.addSql(`create unique index "tickets_active_seat_unique" on "tickets" ("seat_id") where "status" = 'active';`);

    this.addSql(`create table "receipts" ("order_id" uuid not null, "body" jsonb not null, "created_at" timestamptz not null, constraint "receipts_pkey" primary key ("order_id"));`);

    this.addSql(`create table "payments" ("id" uuid not null, "order_id" uuid not null, "method" varchar(32) not null, "status" text check ("status" in ('approved', 'declined', 'refunded')) not null, "amount_cents" int not null, "currency" varchar(3) not null, "card_last4" varchar(4) null, "gateway_reference" varchar(100) not null, "created_at" timestamptz not null, "refunded_at" timestamptz null, constraint "payments_pkey" primary key ("id"));`);
    this.addSql(`alter table "payments" add constraint "payments_order_id_unique" unique ("order_id");`);

    this.addSql(`alter table "sessions" add constraint "sessions_movie_id_foreign" foreign key ("movie_id") references "movies" ("id") on update cascade;`);
    this.addSql(`alter table "sessions" add constraint "sessions_room_id_foreign" foreign key ("room_id") references "rooms" ("id") on update cascade;`);

    this.addSql(`alter table "session_seats" add constraint "session_seats_session_id_foreign" foreign key ("session_id") references "sessions" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "orders" add constraint "orders_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade;`);
    this.addSql(`alter table "orders" add constraint "orders_session_id_foreign" foreign key ("session_id") references "sessions" ("id") on update cascade;`);

    this.addSql(`alter table "tickets" add constraint "tickets_order_id_foreign" foreign key ("order_id") references "orders" ("id") on update cascade;`);
    this.addSql(`alter table "tickets" add constraint "tickets_seat_id_foreign" foreign key ("seat_id") references "session_seats" ("id") on update cascade;`);

    this.addSql(`alter table "receipts" add constraint "receipts_order_id_foreign" foreign key ("order_id") references "orders" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "payments" add constraint "payments_order_id_foreign" foreign key ("order_id") references "orders" ("id") on update cascade;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "sessions" drop constraint "sessions_movie_id_foreign";`);

    this.addSql(`alter table "sessions" drop constraint "sessions_room_id_foreign";`);

    this.addSql(`alter table "session_seats" drop constraint "session_seats_session_id_foreign";`);

    this.addSql(`alter table "orders" drop constraint "orders_session_id_foreign";`);

    this.addSql(`alter table "tickets" drop constraint "tickets_seat_id_foreign";`);

    this.addSql(`alter table "orders" drop constraint "orders_user_id_foreign";`);

    this.addSql(`alter table "tickets" drop constraint "tickets_order_id_foreign";`);

    this.addSql(`alter table "receipts" drop constraint "receipts_order_id_foreign";`);

    this.addSql(`alter table "payments" drop constraint "payments_order_id_foreign";`);

    this.addSql(`drop table if exists "movies" cascade;`);

    this.addSql(`drop table if exists "outbox_events" cascade;`);

    this.addSql(`drop table if exists "processed_messages" cascade;`);

    this.addSql(`drop table if exists "rooms" cascade;`);

    this.addSql(`drop table if exists "sessions" cascade;`);

    this.addSql(`drop table if exists "session_seats" cascade;`);

    this.addSql(`drop table if exists "users" cascade;`);

    this.addSql(`drop table if exists "orders" cascade;`);

    this.addSql(`drop table if exists "tickets" cascade;`);

    this.addSql(`drop table if exists "receipts" cascade;`);

    this.addSql(`drop table if exists "payments" cascade;`);
  }

}
