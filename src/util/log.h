/*
 * Logging for people: one line per event on stderr (or a log file), with a
 * level. Every line passes the sanitiser, so tenant text cannot forge lines
 * or drive a terminal. Never pass a secret to these functions.
 */
#ifndef CV_UTIL_LOG_H
#define CV_UTIL_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Send lines to fd instead of stderr (the console uses a log file), or -1 to
 * silence them. */
void log_set_fd(int fd);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
