import type { ApiClient } from './api-client.js';
import { byId } from './dom.js';
import { inWords } from './words.js';

export interface AccountOutlet {
  say(text: string): void;
  warn(text: string): void;
  /** Signed in or out: the current view may show more, or less. */
  changed(): void;
}

/**
 * Sign-up, sign-in and sign-out, and the header that says who is signed in. The forms show only
 * while nobody is; a new account is signed in at once.
 */
export class Account {
  private readonly section = byId('account');
  private readonly who = byId('who');
  private readonly signOutButton = byId<HTMLButtonElement>('sign-out');
  private readonly historyButton = byId<HTMLButtonElement>('show-history');

  constructor(
    private readonly api: ApiClient,
    private readonly outlet: AccountOutlet,
  ) {
    this.onSubmit('sign-in-form', async (form) => {
      await this.signIn(String(form.get('email')), String(form.get('password')));
    });
    this.onSubmit('sign-up-form', async (form) => {
      const email = String(form.get('email'));
      const password = String(form.get('password'));
      await api.signUp(String(form.get('name')), email, password);
      await this.signIn(email, password);
    });
    this.signOutButton.addEventListener('click', () => void this.signOut());
    api.onSignedOut = () => {
      this.render();
      this.outlet.warn('You are signed out. Sign in again to go on.');
      this.outlet.changed();
    };
    this.render();
  }

  /** Asks the buyer to sign in, with the reason, and puts them in the form. */
  ask(reason: string): void {
    this.outlet.warn(reason);
    this.render();
    byId<HTMLInputElement>('sign-in-email').focus();
  }

  private async signIn(email: string, password: string): Promise<void> {
    const me = await this.api.signIn(email, password);
    for (const form of this.section.querySelectorAll('form')) form.reset();
    this.render(me.name);
    this.outlet.say(`Signed in as ${me.name}.`);
    this.outlet.changed();
  }

  private async signOut(): Promise<void> {
    try {
      await this.api.signOut();
      this.outlet.say('Signed out.');
    } catch (error) {
      // The tokens are gone from the page either way; the server forgets them at their expiry.
      this.outlet.warn(inWords(error));
    }
    this.render();
    this.outlet.changed();
  }

  private render(name?: string): void {
    const signedIn = this.api.signedIn;
    this.section.hidden = signedIn;
    if (name) this.who.textContent = `Signed in as ${name}`;
    if (!signedIn) this.who.textContent = '';
    this.signOutButton.hidden = !signedIn;
    this.historyButton.hidden = !signedIn;
  }

  private onSubmit(id: string, action: (data: FormData) => Promise<void>): void {
    const form = byId<HTMLFormElement>(id);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const button = form.querySelector('button');
      if (button) button.disabled = true;
      action(new FormData(form))
        .catch((error: unknown) => this.outlet.warn(inWords(error)))
        .finally(() => {
          if (button) button.disabled = false;
        });
    });
  }
}
