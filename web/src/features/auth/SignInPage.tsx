import { getRouteApi, useNavigate } from "@tanstack/react-router";
import { useState } from "react";
import { startCognitoSignIn } from "./cognito";
import { devSignIn } from "./dev";
import { isSessionValid, safeReturnPath, useAuth } from "./store";
import { ErrorNotice } from "../../components/Status";
import { getConfig } from "../../config";
import { useTitle } from "../../lib/hooks";

const routeApi = getRouteApi("/signin");

export function SignInPage() {
  useTitle("Sign in");
  const { redirect } = routeApi.useSearch();
  const returnTo = safeReturnPath(redirect);
  const navigate = useNavigate();
  const session = useAuth((s) => s.session);
  const signIn = useAuth((s) => s.signIn);
  const auth = getConfig().auth;
  const [user, setUser] = useState("");
  const [admin, setAdmin] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [fieldError, setFieldError] = useState<string | null>(null);

  const goBack = () => void navigate({ href: returnTo, replace: true });

  return (
    <section className="page narrow">
      <h1>Sign in</h1>
      {isSessionValid(session) && (
        <p className="notice" data-testid="signin-current">
          You are signed in as <strong>{session.user}</strong>.{" "}
          <button type="button" className="link-button" onClick={goBack}>
            Continue
          </button>
        </p>
      )}
      {error != null && <ErrorNotice error={error} testId="signin-error" />}
      {auth.mode === "cognito" ? (
        <div>
          <p>You will be taken to the sign-in page and brought back here.</p>
          <button
            type="button"
            className="button button-primary"
            data-testid="signin-cognito"
            disabled={busy}
            onClick={() => {
              setBusy(true);
              startCognitoSignIn(auth, returnTo).catch((e: unknown) => {
                setError(e);
                setBusy(false);
              });
            }}
          >
            Sign in or create an account
          </button>
        </div>
      ) : (
        <form
          className="form"
          data-testid="signin-form"
          aria-describedby="signin-help"
          noValidate
          onSubmit={async (e) => {
            e.preventDefault();
            const name = user.trim();
            if (!/^[!-"$-~]{1,128}$/.test(name)) {
              setFieldError("Enter a user name: up to 128 letters, digits or symbols, without spaces or #.");
              return;
            }
            setFieldError(null);
            setError(null);
            setBusy(true);
            try {
              signIn(await devSignIn(auth, name, admin));
              goBack();
            } catch (err) {
              setError(err);
            } finally {
              setBusy(false);
            }
          }}
        >
          <p id="signin-help" className="muted small">
            Local sign-in: any user name gets a development token from the local runner.
          </p>
          <div className="field">
            <label htmlFor="signin-user">User name</label>
            <input
              id="signin-user"
              name="user"
              data-testid="signin-user"
              autoComplete="username"
              required
              value={user}
              aria-invalid={fieldError ? true : undefined}
              aria-describedby={fieldError ? "signin-user-error" : undefined}
              onChange={(e) => setUser(e.target.value)}
            />
            {fieldError && (
              <p id="signin-user-error" className="field-error">
                {fieldError}
              </p>
            )}
          </div>
          <div className="field field-check">
            <input id="signin-admin" type="checkbox" data-testid="signin-admin" checked={admin} onChange={(e) => setAdmin(e.target.checked)} />
            <label htmlFor="signin-admin">Admin (staff)</label>
          </div>
          <button type="submit" className="button button-primary" data-testid="signin-submit" disabled={busy}>
            {busy ? "Signing in…" : "Sign in"}
          </button>
        </form>
      )}
    </section>
  );
}
