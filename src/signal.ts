// Signal handling with twemproxy's meanings (nc_signal.c), logged as `signal N (NAME) received...`.

import type { Runtime, SignalName } from "../runtime/types.ts";

/** Linux signal numbers, for the log line twemproxy prints. */
const SIGNO: Readonly<Record<SignalName, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGTERM: 15,
  SIGTTIN: 21,
  SIGTTOU: 22,
};

export interface SignalActions {
  /** Logs through the logger whatever its level (twemproxy's log_safe). */
  loga(msg: string): void;
  reopenLog(): void;
  levelUp(): void;
  levelDown(): void;
  /** SIGUSR1 (twemproxy only logs it): log what the buffer pools hold, for leak checks. */
  report(): void;
  /** SIGUSR2 (ours; twemproxy only logs it): reload the configuration file. */
  reload(): void;
  /** Leave cleanly (pid file removed) with this exit code. */
  shutdown(code: number): void;
}

/**
 * Install the handlers: SIGHUP reopens the log (logrotate), SIGTTIN/SIGTTOU raise and lower the
 * level, SIGINT exits 1 as twemproxy does and SIGTERM exits 0 (twemproxy leaves SIGTERM at its
 * default action; we remove the pid file on both), SIGUSR1/2 are logged only, SIGPIPE ignored.
 * SIGSEGV (only a sent one: a real fault gives JS no turn) is logged, then the process dies by it.
 */
export function signalInit(rt: Runtime, a: SignalActions): void {
  const handle = (sig: SignalName): void => {
    let action = "";
    switch (sig) {
      case "SIGTTIN":
        action = ", up logging level";
        break;
      case "SIGTTOU":
        action = ", down logging level";
        break;
      case "SIGHUP":
        action = ", reopening log file";
        break;
      case "SIGINT":
      case "SIGTERM":
        action = ", exiting";
        break;
      case "SIGSEGV":
        action = ", core dumping";
        break;
      case "SIGUSR2":
        action = ", reloading configuration";
        break;
      default:
        break;
    }
    a.loga(`signal ${SIGNO[sig]} (${sig}) received${action}`);
    if (sig === "SIGHUP") a.reopenLog();
    else if (sig === "SIGTTIN") a.levelUp();
    else if (sig === "SIGTTOU") a.levelDown();
    else if (sig === "SIGINT") a.shutdown(1);
    else if (sig === "SIGTERM") a.shutdown(0);
    else if (sig === "SIGUSR1") a.report();
    else if (sig === "SIGUSR2") a.reload();
    // the line is written (synchronously) first; then die by the signal, as twemproxy does, and
    // leave the pid file, as it does too. No stack trace: ours would show only this handler
    else if (sig === "SIGSEGV") rt.raise(sig);
  };
  // SIGPIPE stays ignored (the adapters see to it) and is not logged, as in twemproxy
  for (const sig of Object.keys(SIGNO) as SignalName[]) if (sig !== "SIGPIPE") rt.onSignal(sig, handle);
}
