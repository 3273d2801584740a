import { useEffect, useId, useRef, useState, type ReactNode } from 'react';
import './confirm.css';

/**
 * A button whose action happens only after a modal confirmation. The native <dialog>
 * (showModal) traps focus, makes the page behind inert and closes on Escape; it is named
 * by its question and described by its explanation. A refusal (the API's problem detail)
 * is shown in the dialog, which stays open; on success it closes.
 */
export function ConfirmAction({
  label,
  target,
  title,
  confirm,
  action,
  focusAfter,
  children,
}: {
  /** The trigger's visible text ("Remove"). */
  label: string;
  /** What it acts on, completing the trigger's accessible name ("mallory@example.test"). */
  target: string;
  /** The dialog's heading: the question asked. */
  title: string;
  /** The confirming button's text ("Remove member"). */
  confirm: string;
  /** The action; a rejection's message is shown in the dialog. */
  action: () => Promise<unknown>;
  /** The id of a focusable element (tabIndex -1) for focus when the trigger went away with
   *  what it removed. */
  focusAfter?: string;
  /** What will happen, in a sentence or two. */
  children: ReactNode;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const trigger = useRef<HTMLButtonElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  /** Set while the action runs and after it succeeded. */
  const acted = useRef(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const id = useId();

  // The trigger's row usually leaves with what it removed (possibly before the action's
  // promise settles, as the refreshed list renders): focus would fall to <body>, so keyboard
  // and screen-reader users get a place in the page instead.
  useEffect(
    () => () => {
      const active = document.activeElement;
      if (acted.current && focusAfter && (active === null || active === document.body))
        document.getElementById(focusAfter)?.focus();
    },
    [focusAfter],
  );

  const open = () => {
    setError(null);
    dialog.current?.showModal();
    cancel.current?.focus(); // the harmless choice first
  };
  const run = async () => {
    if (busy) return;
    setBusy(true);
    setError(null);
    acted.current = true;
    try {
      await action();
      dialog.current?.close();
    } catch (e) {
      acted.current = false;
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <button ref={trigger} type="button" aria-label={`${label} ${target}`} onClick={open}>
        {label}
      </button>
      <dialog
        ref={dialog}
        className="confirm"
        aria-labelledby={`${id}-title`}
        aria-describedby={`${id}-text`}
        onClose={() => {
          if (trigger.current?.isConnected) trigger.current.focus();
        }}
      >
        <h2 id={`${id}-title`}>{title}</h2>
        <div id={`${id}-text`}>{children}</div>
        {error !== null && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <div className="confirm-buttons">
          <button
            ref={cancel}
            type="button"
            className="secondary"
            onClick={() => dialog.current?.close()}
          >
            Cancel
          </button>
          {/* aria-disabled, not disabled: a disabled button would drop the focus it holds */}
          <button type="button" className="danger" aria-disabled={busy} onClick={() => void run()}>
            {busy ? `${confirm}…` : confirm}
          </button>
        </div>
      </dialog>
    </>
  );
}
