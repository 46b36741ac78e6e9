/*
 * http.h — animo's HTTPS transport: one reused libcurl easy handle per
 * ah_http, run blocking (ah_http_perform) or many at once (ah_multi).
 *
 * Lua-free: callers pass plain C strings and get a status code and a
 * response that points into the handle's own buffers. Policy (which headers,
 * what a status means) belongs to the Lua layer; this file only guarantees
 * the transport rules every request obeys: HTTPS only, verification on, no
 * redirects, bounded time and bounded response size.
 */
#ifndef ANIMO_HTTP_H
#define ANIMO_HTTP_H

#include <stddef.h>

/* Largest response body accepted; more is an AH_TOO_LARGE failure. */
#define AH_MAX_BODY (1024 * 1024)

typedef enum ah_status {
  AH_OK = 0,      /* a response arrived (any HTTP status) */
  AH_TIMEOUT,     /* connect, total or stall limit reached */
  AH_NETWORK,     /* resolve, connect, send or receive failed */
  AH_TLS,         /* handshake or certificate verification failed */
  AH_TOO_LARGE,   /* body over AH_MAX_BODY */
  AH_BAD_REQUEST, /* the request itself was malformed (e.g. CR/LF in a header) */
  AH_NOMEM        /* out of memory */
} ah_status;

typedef struct ah_request {
  const char *method;         /* "GET", "POST", "PATCH", "DELETE" */
  const char *url;            /* must be https:// */
  const char *const *headers; /* "Name: value" lines, no CR/LF */
  size_t nheaders;
  const char *body; /* may be NULL */
  size_t body_len;
  long timeout_ms; /* whole try: connect + transfer */
  long connect_timeout_ms;
  long stall_ms;       /* abort when no byte arrives for this long */
  const char *ca_file; /* PEM bundle, or NULL for the system store */
  int resend_ok;       /* may libcurl resend the request on a fresh
                          connection when a reused one dies? Only
                          for idempotent requests. */
} ah_request;

typedef struct ah_response {
  long status;      /* HTTP status, 0 when none arrived */
  const char *body; /* owned by the handle; valid until the next call */
  size_t body_len;
  const char *retry_after;  /* header value or "" */
  const char *content_type; /* header value or "" */
  int sent;                 /* 1 when request bytes reached the socket */
  int reused;               /* 1 when a kept-alive connection served it */
  const char *error;        /* human message when status != AH_OK */
} ah_response;

typedef struct ah_http ah_http;

/* Once per process before the first handle (curl_global_init); libcurl
 * counts calls, so a host that also uses libcurl is not disturbed.
 * Returns 0 on success. */
int ah_http_global_init(void);

/* Returns NULL when libcurl cannot make a handle (out of memory). */
ah_http *ah_http_new(void);
void ah_http_free(ah_http *h);

/* Runs one request to completion (blocking). On every return `res` is filled;
 * its pointers stay valid until the next call on `h` or ah_http_free. */
ah_status ah_http_perform(ah_http *h, const ah_request *req, ah_response *res);

/* True while `h` is added to a multi (it cannot run another request). */
int ah_http_busy(const ah_http *h);

/* Many transfers at once, driven without blocking. */
typedef struct ah_multi ah_multi;

/* Returns NULL when libcurl cannot make the handles (out of memory). */
ah_multi *ah_multi_new(void);

/* Removes the transfers still running (they can be reused) and frees. */
void ah_multi_free(ah_multi *m);

/* Starts `req` on `h`. On failure fills `res` like ah_http_perform. */
ah_status ah_multi_add(ah_multi *m, ah_http *h, const ah_request *req, ah_response *res);

/* Abandons the transfer of `h` (it can be reused). */
void ah_multi_remove(ah_multi *m, ah_http *h);

/* Advances every transfer without blocking; then, when `wait_ms` > 0 and
 * transfers are running, waits at most that long for network activity and
 * advances again. Returns the number still running, -1 on a libcurl error. */
int ah_multi_perform(ah_multi *m, long wait_ms);

/* The next finished transfer with its result in `st` and `res` (as for
 * ah_http_perform), now removed from `m`; NULL when none is finished. */
ah_http *ah_multi_done(ah_multi *m, ah_status *st, ah_response *res);

/* libcurl and TLS backend versions, e.g. "libcurl/7.88.1 OpenSSL/3.0.11". */
const char *ah_http_version(void);

#endif
