/**
 * Where keepstate reports untrusted input it refused: forged or corrupted session data, bad
 * cookies. Mirrors Django's `django.security.SuspiciousSession` logger.
 */
export interface SecurityLogger {
  warn(message: string, details?: Record<string, unknown>): void;
}

/** The default logger: one line on stderr through `console.warn`, prefixed `keepstate.security`. */
export const consoleSecurityLogger: SecurityLogger = {
  warn(message, details) {
    if (details === undefined) console.warn(`keepstate.security: ${message}`);
    else console.warn(`keepstate.security: ${message}`, details);
  },
};
