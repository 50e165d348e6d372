// UnionEyes admin dashboard: the credentials kept for this tab and the way back to the sign-in
// form, served at /admin/signin.js. The token lives in sessionStorage only (never
// localStorage, a cookie or a URL); signing in itself is dashboard.js's.

import { $, show } from "/admin/dom.js";
import { state } from "/admin/state.js";

const STORAGE_KEY = "unioneyes.admin.auth";

/** The credentials this tab signed in with, if any. */
export function loadAuth() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) || "null");
    if (saved && saved.mode === "token" && typeof saved.token === "string" && saved.token) {
      return { mode: "token", token: saved.token };
    }
    if (saved && saved.mode === "session") return { mode: "session" };
  } catch {
    // unreadable: sign in again
  }
  return null;
}

/**
 * The token typed or pasted into the form: {token} or {error}. A pasted `Bearer ` prefix,
 * surrounding quotes and blanks are dropped; anything but visible ASCII cannot be a token (and could not
 * be sent in a header at all), so it is refused here with a reason instead of failing later.
 */
export function typedToken(raw) {
  const token = raw
    .trim()
    .replace(/^Bearer\s+/i, "")
    .replace(/^(['"])(.*)\1$/, "$2");
  if (!token || /^bearer$/i.test(token)) return { error: "Type the admin token first." };
  if (!/^[\x21-\x7e]+$/.test(token)) {
    return {
      error:
        "That is not a token: tokens are letters, digits and punctuation, with no spaces or other characters. Check what was pasted.",
    };
  }
  return { token };
}

export function saveAuth(auth) {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(auth));
}

/** Forget the credentials and show the sign-in form, with `message` if any. */
export function toSignIn(message) {
  state.auth = null;
  state.me = null;
  state.seq += 1; // drop answers still in flight
  state.historySeq += 1;
  sessionStorage.removeItem(STORAGE_KEY);
  $("token").value = "";
  show($("dashboard"), false);
  show($("whoami"), false);
  show($("boot"), false);
  show($("signin"));
  const err = $("signin-error");
  err.textContent = message || "";
  show(err, Boolean(message));
  $("token").focus();
}

/** A 401 anywhere means the credentials no longer work: back to the sign-in form. */
export function signedOutBy(results) {
  const failure = results.find((r) => r.status === "rejected" && r.reason?.status === 401);
  if (!failure) return false;
  toSignIn(`Signed out: ${failure.reason.message}`);
  return true;
}
