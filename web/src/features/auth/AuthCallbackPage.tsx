import { Link, useNavigate } from "@tanstack/react-router";
import { useEffect, useState } from "react";
import { completeCognitoSignIn } from "./cognito";
import type { Session } from "./store";
import { useAuth } from "./store";
import { ErrorNotice, Spinner } from "../../components/Status";
import { getConfig } from "../../config";

// The code can be traded once: StrictMode's second effect run reuses the first exchange.
let exchange: { code: string; result: Promise<{ session: Session; returnTo: string }> } | null = null;

export function AuthCallbackPage() {
  const navigate = useNavigate();
  const signIn = useAuth((s) => s.signIn);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    const auth = getConfig().auth;
    if (auth.mode !== "cognito") {
      setError(new Error("This shop does not use hosted sign-in."));
      return;
    }
    const query = new URLSearchParams(window.location.search);
    const code = query.get("code") ?? "";
    if (!exchange || exchange.code !== code) exchange = { code, result: completeCognitoSignIn(auth, query) };
    let live = true;
    exchange.result.then(
      ({ session, returnTo }) => {
        signIn(session);
        if (live) void navigate({ href: returnTo, replace: true });
      },
      (e: unknown) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [navigate, signIn]);

  return (
    <section className="page narrow">
      <h1>Signing you in</h1>
      {error ? (
        <ErrorNotice error={error}>
          <Link to="/signin">Try signing in again</Link>
        </ErrorNotice>
      ) : (
        <Spinner label="Finishing sign-in…" />
      )}
    </section>
  );
}
