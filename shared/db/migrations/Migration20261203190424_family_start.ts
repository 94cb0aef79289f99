import { Migration } from '@mikro-orm/migrations';

export class Migration20261203190424_family_start extends Migration {

  override async up(): Promise<void> {
    this.addSql(`alter table "refresh_tokens" add column "family_started_at" timestamptz null;`);
    // A family signed in before this migration started with its oldest token still stored.
    this.addSql(`update "refresh_tokens" t set "family_started_at" = f."started_at" from (select "family_id", min("created_at") as "started_at" from "refresh_tokens" group by "family_id") f where f."family_id" = t."family_id";`);
    this.addSql(`alter table "refresh_tokens" alter column "family_started_at" set not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "refresh_tokens" drop column "family_started_at";`);
  }

}
