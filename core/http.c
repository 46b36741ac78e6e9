/*
 * http.c — see http.h. One easy handle per ah_http, reused for every request
 * so the connection and the TLS session stay alive between calls. The body
 * buffer, header list and error text live in the handle, so a caller may
 * raise (e.g. a Lua memory error while copying the body) without leaking.
 * An ah_multi runs many ah_http transfers at once on one curl multi handle,
 * whose connection pool and shared TLS session cache they all use.
 */
#include "http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#define HEADER_VALUE_MAX 128

struct ah_http {
  CURL *curl;
  struct curl_slist *headers; /* of the last request, reused while unchanged */
  char *ca_file;              /* CAINFO as last set; meaningful once ca_set */
  int ca_set;
  char *body; /* response body: growable, reused */
  size_t body_len, body_cap;
  char *upload; /* request body: a copy, for the transfer */
  size_t upload_cap;
  int resend_ok;
  int sends; /* requests libcurl began for this transfer */
  int too_large;
  int nomem;
  char retry_after[HEADER_VALUE_MAX];
  char content_type[HEADER_VALUE_MAX];
  char error[CURL_ERROR_SIZE];
  ah_multi *multi; /* set while added to one */
  ah_http *next;   /* in multi->transfers */
};

struct ah_multi {
  CURLM *multi;
  CURLSH *share;      /* TLS sessions shared by its transfers */
  ah_http *transfers; /* added and not yet collected */
};

int ah_http_global_init(void) {
  return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud);
static size_t on_header(char *line, size_t size, size_t n, void *ud);
static int on_prereq(void *ud, char *ip, char *local_ip, int port, int local_port);

/* A variable of the environment, NULL when unset or empty. */
static const char *env(const char *name) {
  const char *v = getenv(name);
  return v != NULL && *v != '\0' ? v : NULL;
}

/* The proxy libcurl would take from the environment for an https URL.
 * Given explicitly (with no_proxy), so libcurl does not read six variables
 * again before every request. */
static int set_proxy(CURL *c) {
  const char *proxy = env("https_proxy");
  if (proxy == NULL) proxy = env("HTTPS_PROXY");
  if (proxy == NULL) proxy = env("all_proxy");
  if (proxy == NULL) proxy = env("ALL_PROXY");
  const char *no_proxy = env("no_proxy");
  if (no_proxy == NULL) no_proxy = env("NO_PROXY");
  return curl_easy_setopt(c, CURLOPT_PROXY, proxy ? proxy : "") ||
         curl_easy_setopt(c, CURLOPT_NOPROXY, no_proxy ? no_proxy : "");
}

/* The options every request shares, set once: the handle is never reset. */
static int set_fixed_options(ah_http *h) {
  CURL *c = h->curl;
  return set_proxy(c) || curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") ||
         curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https") ||
         curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) ||
         curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) ||
         curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) ||
         curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) ||
         curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L) ||
         curl_easy_setopt(c, CURLOPT_MAXFILESIZE, (long)AH_MAX_BODY) ||
         curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->error) ||
         curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) ||
         curl_easy_setopt(c, CURLOPT_WRITEDATA, h) ||
         curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) ||
         curl_easy_setopt(c, CURLOPT_HEADERDATA, h) ||
         curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_prereq) ||
         curl_easy_setopt(c, CURLOPT_PREREQDATA, h);
}

ah_http *ah_http_new(void) {
  ah_http *h = calloc(1, sizeof *h);
  if (h == NULL) return NULL;
  h->curl = curl_easy_init();
  if (h->curl == NULL || set_fixed_options(h) != 0) {
    ah_http_free(h);
    return NULL;
  }
  return h;
}

void ah_http_free(ah_http *h) {
  if (h == NULL) return;
  if (h->multi != NULL) ah_multi_remove(h->multi, h);
  curl_easy_cleanup(h->curl);
  curl_slist_free_all(h->headers);
  free(h->ca_file);
  free(h->body);
  free(h->upload);
  free(h);
}

const char *ah_http_version(void) {
  return curl_version();
}

static size_t on_body(char *data, size_t size, size_t n, void *ud) {
  ah_http *h = ud;
  size_t len = size * n;
  if (len > AH_MAX_BODY - h->body_len) {
    h->too_large = 1;
    return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
  }
  if (h->body_len + len > h->body_cap) {
    size_t cap = h->body_cap ? h->body_cap : 4096;
    while (cap < h->body_len + len) cap *= 2;
    char *p = realloc(h->body, cap);
    if (p == NULL) {
      h->nomem = 1;
      return 0;
    }
    h->body = p;
    h->body_cap = cap;
  }
  memcpy(h->body + h->body_len, data, len);
  h->body_len += len;
  return len;
}

/* Called before each request goes out on a connection. libcurl resends a
 * request on a fresh connection when a reused one died before any response
 * byte; the server may have processed it, so a request that must not run
 * twice (attach) is stopped instead (CURLE_ABORTED_BY_CALLBACK). */
static int on_prereq(void *ud, char *ip, char *local_ip, int port, int local_port) {
  ah_http *h = ud;
  (void)ip, (void)local_ip, (void)port, (void)local_port;
  h->sends++;
  return h->sends > 1 && !h->resend_ok ? CURL_PREREQFUNC_ABORT : CURL_PREREQFUNC_OK;
}

/* Keeps a copy of the request body in the handle (reused buffer), so the
 * caller's string need not outlive a transfer on a multi handle. */
static int set_upload(ah_http *h, const char *body, size_t len) {
  if (len + 1 > h->upload_cap) {
    char *p = realloc(h->upload, len + 1);
    if (p == NULL) return -1;
    h->upload = p;
    h->upload_cap = len + 1;
  }
  memcpy(h->upload, body, len);
  return 0;
}

/* Copies the value of header line `line` into `dst` when its name is `name`
 * (case-insensitive); trims surrounding blanks and the CRLF. */
static void take_header(const char *line, size_t len, const char *name, char *dst) {
  size_t nlen = strlen(name);
  if (len <= nlen || line[nlen] != ':' || strncasecmp(line, name, nlen) != 0) return;
  const char *v = line + nlen + 1, *end = line + len;
  while (v < end && (*v == ' ' || *v == '\t')) v++;
  while (end > v && isspace((unsigned char)end[-1])) end--;
  size_t vlen = (size_t)(end - v);
  if (vlen >= HEADER_VALUE_MAX) vlen = HEADER_VALUE_MAX - 1;
  memcpy(dst, v, vlen);
  dst[vlen] = '\0';
}

static size_t on_header(char *line, size_t size, size_t n, void *ud) {
  ah_http *h = ud;
  size_t len = size * n;
  if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
    /* A new response starts (after a 1xx, say): forget the last one's. */
    h->retry_after[0] = h->content_type[0] = '\0';
  } else {
    take_header(line, len, "retry-after", h->retry_after);
    take_header(line, len, "content-type", h->content_type);
  }
  return len;
}

static int has_crlf(const char *s) {
  return strpbrk(s, "\r\n") != NULL;
}

/* True when the list `l` holds exactly `headers` followed by "Expect:". */
static int same_headers(const struct curl_slist *l, const ah_request *req) {
  for (size_t i = 0; i < req->nheaders; i++, l = l->next) {
    if (l == NULL || strcmp(l->data, req->headers[i]) != 0) return 0;
  }
  return l != NULL && l->next == NULL;
}

/* Makes h->headers the request's header list, rebuilding it only when the
 * lines changed (a client sends the same few lines every time). */
static ah_status set_headers(ah_http *h, const ah_request *req) {
  for (size_t i = 0; i < req->nheaders; i++) {
    if (has_crlf(req->headers[i])) return AH_BAD_REQUEST;
  }
  if (h->headers != NULL && same_headers(h->headers, req)) return AH_OK;
  curl_slist_free_all(h->headers);
  h->headers = NULL;
  curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
  struct curl_slist *l = NULL;
  for (size_t i = 0; i <= req->nheaders; i++) {
    /* No "Expect: 100-continue" round trip for bodies. */
    struct curl_slist *next = curl_slist_append(l, i < req->nheaders ? req->headers[i] : "Expect:");
    if (next == NULL) {
      curl_slist_free_all(l);
      return AH_NOMEM;
    }
    l = next;
  }
  h->headers = l;
  curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, l);
  return AH_OK;
}

/* Sets CAINFO when it differs from what the handle has (libcurl copies the
 * string on every set). NULL means the system store. */
static ah_status set_ca_file(ah_http *h, const char *ca_file) {
  if (h->ca_set && (ca_file == NULL ? h->ca_file == NULL
                                    : h->ca_file != NULL && strcmp(ca_file, h->ca_file) == 0)) {
    return AH_OK;
  }
  char *copy = NULL;
  if (ca_file != NULL && (copy = strdup(ca_file)) == NULL) return AH_NOMEM;
  if (curl_easy_setopt(h->curl, CURLOPT_CAINFO, ca_file) != CURLE_OK) {
    free(copy);
    h->ca_set = 0;
    return AH_NOMEM;
  }
  free(h->ca_file);
  h->ca_file = copy;
  h->ca_set = 1;
  return AH_OK;
}

/* Sets every per-request option; the fixed ones are set once, in new. */
static ah_status prepare(ah_http *h, const ah_request *req) {
  CURL *c = h->curl;
  if (has_crlf(req->url) || has_crlf(req->method)) return AH_BAD_REQUEST;
  ah_status st = set_headers(h, req);
  if (st == AH_OK) st = set_ca_file(h, req->ca_file);
  if (st != AH_OK) return st;

  h->body_len = 0;
  h->too_large = h->nomem = 0;
  h->retry_after[0] = h->content_type[0] = h->error[0] = '\0';
  h->sends = 0;
  h->resend_ok = req->resend_ok;

  curl_easy_setopt(c, CURLOPT_URL, req->url);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, req->stall_ms > 1000 ? req->stall_ms / 1000 : 1L);
  if (req->body != NULL) {
    /* In memory, so headers and body leave in one write. */
    if (set_upload(h, req->body, req->body_len) != 0) return AH_NOMEM;
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, h->upload);
  } else {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  }
  /* After the body options, which reset the method to POST or GET. */
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
                   strcmp(req->method, req->body ? "POST" : "GET") == 0 ? NULL : req->method);
  return AH_OK;
}

static ah_status classify(CURLcode rc) {
  switch (rc) {
    case CURLE_OK:
      return AH_OK;
    case CURLE_OPERATION_TIMEDOUT:
      return AH_TIMEOUT;
    case CURLE_OUT_OF_MEMORY:
      return AH_NOMEM;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
      return AH_TLS;
    default:
      return AH_NETWORK;
  }
}

/* Fills `res` from the finished transfer `rc`. */
static ah_status finish(ah_http *h, CURLcode rc, ah_response *res) {
  ah_status st = classify(rc);
  long status = 0;
  long sent = 0, connects = 0;
  curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(h->curl, CURLINFO_REQUEST_SIZE, &sent);
  curl_easy_getinfo(h->curl, CURLINFO_NUM_CONNECTS, &connects);
  if (rc == CURLE_ABORTED_BY_CALLBACK && h->sends > 1) {
    strcpy(h->error, "the connection was lost after the request was sent");
  }
  if (h->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    st = AH_TOO_LARGE;
    strcpy(h->error, "response body larger than 1 MiB");
  } else if (h->nomem) {
    st = AH_NOMEM;
  }
  if (st == AH_NOMEM) strcpy(h->error, "out of memory");
  if (st != AH_OK && h->error[0] == '\0')
    strncpy(h->error, curl_easy_strerror(rc), sizeof h->error - 1);
  res->status = st == AH_OK ? status : 0;
  res->body = h->body ? h->body : "";
  res->body_len = st == AH_OK ? h->body_len : 0;
  res->retry_after = h->retry_after;
  res->content_type = h->content_type;
  res->sent = sent > 0;
  res->reused = st == AH_OK && connects == 0;
  res->error = h->error;
  return st;
}

/* Fills `res` for a request refused before it started. */
static ah_status refused(ah_status st, ah_response *res) {
  memset(res, 0, sizeof *res);
  res->body = res->retry_after = res->content_type = "";
  res->error = st == AH_NOMEM ? "out of memory" : "header or URL contains CR or LF";
  return st;
}

ah_status ah_http_perform(ah_http *h, const ah_request *req, ah_response *res) {
  if (h->multi != NULL) return refused(AH_BAD_REQUEST, res);
  ah_status st = prepare(h, req);
  if (st != AH_OK) return refused(st, res);
  return finish(h, curl_easy_perform(h->curl), res);
}

int ah_http_busy(const ah_http *h) {
  return h->multi != NULL;
}

ah_multi *ah_multi_new(void) {
  ah_multi *m = calloc(1, sizeof *m);
  if (m == NULL) return NULL;
  m->multi = curl_multi_init();
  m->share = curl_share_init();
  if (m->multi == NULL || m->share == NULL ||
      curl_share_setopt(m->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
    ah_multi_free(m);
    return NULL;
  }
  return m;
}

void ah_multi_free(ah_multi *m) {
  if (m == NULL) return;
  while (m->transfers != NULL) ah_multi_remove(m, m->transfers);
  if (m->multi) curl_multi_cleanup(m->multi);
  if (m->share) curl_share_cleanup(m->share);
  free(m);
}

ah_status ah_multi_add(ah_multi *m, ah_http *h, const ah_request *req, ah_response *res) {
  if (h->multi != NULL) return refused(AH_BAD_REQUEST, res);
  ah_status st = prepare(h, req);
  if (st != AH_OK) return refused(st, res);
  curl_easy_setopt(h->curl, CURLOPT_SHARE, m->share);
  curl_easy_setopt(h->curl, CURLOPT_PRIVATE, h);
  if (curl_multi_add_handle(m->multi, h->curl) != CURLM_OK) {
    curl_easy_setopt(h->curl, CURLOPT_SHARE, NULL);
    return refused(AH_NOMEM, res);
  }
  h->multi = m;
  h->next = m->transfers;
  m->transfers = h;
  return AH_OK;
}

void ah_multi_remove(ah_multi *m, ah_http *h) {
  for (ah_http **p = &m->transfers; *p != NULL; p = &(*p)->next) {
    if (*p == h) {
      *p = h->next;
      break;
    }
  }
  curl_multi_remove_handle(m->multi, h->curl);
  curl_easy_setopt(h->curl, CURLOPT_SHARE, NULL); /* the share may go first */
  h->multi = NULL;
  h->next = NULL;
}

int ah_multi_perform(ah_multi *m, long wait_ms) {
  int running = 0;
  if (curl_multi_perform(m->multi, &running) != CURLM_OK) return -1;
  if (wait_ms > 0 && running > 0) {
    if (curl_multi_poll(m->multi, NULL, 0, (int)wait_ms, NULL) != CURLM_OK) return -1;
    if (curl_multi_perform(m->multi, &running) != CURLM_OK) return -1;
  }
  return running;
}

ah_http *ah_multi_done(ah_multi *m, ah_status *st, ah_response *res) {
  int left;
  CURLMsg *msg;
  while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURLcode rc = msg->data.result;
    ah_http *h = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&h);
    ah_multi_remove(m, h); /* invalidates msg */
    *st = finish(h, rc, res);
    return h;
  }
  return NULL;
}
