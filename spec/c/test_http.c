/*
 * test_http.c — unit tests of the Lua-free transport (core/http.c) for what
 * needs no TLS server: refused requests, refused protocols, and how
 * transfer failures are classified. Prints TAP.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"

static int tests, failures;

static void ok(int cond, const char *what) {
  tests++;
  if (!cond) failures++;
  printf("%sok %d - %s\n", cond ? "" : "not ", tests, what);
}

/* A loopback TCP listener on a free port; returns the socket. */
static int listen_loopback(int *port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 || listen(s, 4) != 0 ||
      getsockname(s, (struct sockaddr *)&a, &len) != 0) {
    perror("listen_loopback");
    return -1;
  }
  *port = ntohs(a.sin_port);
  return s;
}

/* Accepts one connection, reads a little, answers in plain HTTP. */
static void *plain_server(void *arg) {
  int s = *(int *)arg;
  int c = accept(s, NULL, NULL);
  if (c >= 0) {
    char buf[512];
    const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    if (read(c, buf, sizeof buf) < 0 || write(c, resp, strlen(resp)) < 0) perror("plain_server");
    close(c);
  }
  return NULL;
}

static ah_request base_request(const char *url) {
  ah_request r = {0};
  r.method = "GET";
  r.url = url;
  r.timeout_ms = 5000;
  r.connect_timeout_ms = 2000;
  r.stall_ms = 2000;
  return r;
}

int main(void) {
  ok(ah_http_global_init() == 0, "libcurl initialises");
  ah_http *h = ah_http_new();
  ok(h != NULL, "a handle is created");
  ah_response res;
  char url[128];

  const char *bad_header[] = {"X-Test: a\r\nInjected: b"};
  ah_request r = base_request("https://127.0.0.1:1/");
  r.headers = bad_header;
  r.nheaders = 1;
  ok(ah_http_perform(h, &r, &res) == AH_BAD_REQUEST && res.sent == 0,
     "a header with CR/LF is refused before sending");

  r = base_request("http://127.0.0.1:1/");
  ah_status st = ah_http_perform(h, &r, &res);
  ok(st == AH_NETWORK && res.sent == 0 && strstr(res.error, "http") != NULL,
     "plain http:// is refused by the transport");

  int port, s = listen_loopback(&port);
  close(s); /* nobody listens there now */
  snprintf(url, sizeof url, "https://127.0.0.1:%d/", port);
  r = base_request(url);
  st = ah_http_perform(h, &r, &res);
  ok(st == AH_NETWORK && res.sent == 0 && res.status == 0,
     "connection refused is a network failure with nothing sent");

  s = listen_loopback(&port);
  pthread_t t;
  pthread_create(&t, NULL, plain_server, &s);
  snprintf(url, sizeof url, "https://127.0.0.1:%d/", port);
  r = base_request(url);
  st = ah_http_perform(h, &r, &res);
  ok(st == AH_TLS, "a plain-HTTP server on the HTTPS port is a TLS failure");
  ok(res.error != NULL && res.error[0] != '\0', "the failure has a message");
  pthread_join(t, NULL);
  close(s);

  /* A listener whose accept queue is full drops new SYNs: connect hangs. */
  s = listen_loopback(&port);
  listen(s, 0);
  int fillers[3];
  for (int i = 0; i < 3; i++) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(fillers[i], (struct sockaddr *)&a, sizeof a);
  }
  snprintf(url, sizeof url, "https://127.0.0.1:%d/", port);
  r = base_request(url);
  r.connect_timeout_ms = 300;
  st = ah_http_perform(h, &r, &res);
  ok(st == AH_TIMEOUT && res.sent == 0,
     "a connect that hangs ends at connect_timeout, nothing sent");
  for (int i = 0; i < 3; i++) close(fillers[i]);
  close(s);

  ah_http_free(h);
  ah_http_free(NULL);
  ok(1, "free of a handle and of NULL");
  printf("1..%d\n", tests);
  return failures != 0;
}
