/* log: structured logging, one JSON object per line on stderr.
 *
 *   {"ts":"2026-11-27T03:14:00.123Z","level":"info","service":"tenants",
 *    "request_id":"...","msg":"..."}
 *
 * Never log personal data (phones, ID numbers, passwords, tokens). */
#ifndef PM_LOG_H
#define PM_LOG_H

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

/* Sets the service name and reads PM_LOG_LEVEL (debug|info|warn|error, default info). */
void log_init (const char *service);

/* request_id may be NULL. The message is printf-formatted and JSON-escaped. */
void log_msg (log_level_t level, const char *request_id, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

#define log_debug(rid, ...) log_msg (LOG_DEBUG, (rid), __VA_ARGS__)
#define log_info(rid, ...)  log_msg (LOG_INFO, (rid), __VA_ARGS__)
#define log_warn(rid, ...)  log_msg (LOG_WARN, (rid), __VA_ARGS__)
#define log_error(rid, ...) log_msg (LOG_ERROR, (rid), __VA_ARGS__)

#endif
