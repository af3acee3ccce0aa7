import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { ErrorNotice, Skeleton } from "../../components/Status";
import { formatDateTime } from "../../lib/format";
import { useTitle } from "../../lib/hooks";

/** A message as the local stack's `GET /dev/mail` lists it (the email worker's `.eml` files). */
export type DevMail = {
  id: string;
  from: string;
  to: string;
  subject: string;
  date: string | null;
  text: string | null;
  html: string | null;
};

async function fetchMail(signal: AbortSignal): Promise<DevMail[]> {
  const res = await fetch("/dev/mail", { signal, headers: { accept: "application/json" } });
  if (!res.ok) throw new Error(`the dev mailbox answered ${res.status}`);
  return ((await res.json()) as { messages: DevMail[] }).messages;
}

/**
 * The dev mailbox (local stack only): every order email the email worker wrote, newest
 * first, with its HTML in a sandboxed frame. In AWS the mail goes out through SES instead.
 */
export function MailboxPage() {
  useTitle("Dev mailbox");
  const mail = useQuery({ queryKey: ["dev-mail"], queryFn: ({ signal }) => fetchMail(signal), refetchInterval: 2000 });
  const [open, setOpen] = useState<string | null>(null);
  return (
    <section className="page mailbox">
      <h1>Dev mailbox</h1>
      <p className="muted">Order emails the local stack sent (written as .eml files in its state folder). Refreshes every 2 s.</p>
      {mail.isPending ? (
        <Skeleton label="Loading mail…" shape="rows" count={4} />
      ) : mail.isError ? (
        <ErrorNotice error={mail.error} />
      ) : mail.data.length === 0 ? (
        <p data-testid="mailbox-empty">No mail yet: place an order.</p>
      ) : (
        <ul className="mail-list" data-testid="mailbox">
          {mail.data.map((m) => (
            <li key={m.id} className="mail" data-testid="mail" data-mail-id={m.id}>
              <button type="button" className="mail-head" aria-expanded={open === m.id} onClick={() => setOpen(open === m.id ? null : m.id)}>
                <strong data-testid="mail-subject">{m.subject}</strong>
                <span className="muted small">
                  to {m.to}
                  {m.date && ` · ${formatDateTime(m.date)}`}
                </span>
              </button>
              {open === m.id &&
                (m.html ? (
                  <iframe className="mail-body" title={`Email: ${m.subject}`} sandbox="" srcDoc={m.html} data-testid="mail-html" />
                ) : (
                  <pre className="mail-body">{m.text}</pre>
                ))}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
