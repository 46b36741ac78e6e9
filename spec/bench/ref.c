/*
 * ref.c — the floor for spec/bench/compare.sh: N rounds of attach, update
 * and detach with one reused libcurl easy handle, verification on, the same
 * headers and bodies animo sends. No JSON work, no checks, no store; given
 * DIR and SIZE, it also replaces a SIZE-byte file in DIR after each request
 * (see replace.h), as a store does, without locking, reading or JSON.
 *   ref BASE_URL CA_FILE TOKEN N [DIR SIZE]
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replace.h"

static size_t sink(char *d, size_t s, size_t n, void *u) {
  (void)d, (void)u;
  return s * n;
}

int main(int argc, char **argv) {
  if (argc != 5 && argc != 7) return 2;
  const char *base = argv[1], *ca = argv[2], *token = argv[3];
  int n = atoi(argv[4]);
  int dfd = -1;
  size_t size = argc == 7 ? (size_t)atol(argv[6]) : 0;
  char *data = calloc(1, size + 1), path[4096], tmp[4096];
  if (data == NULL) return 1;
  if (argc == 7) {
    memset(data, 'x', size);
    snprintf(path, sizeof path, "%s/ref.json", argv[5]);
    snprintf(tmp, sizeof tmp, "%s/.ref.json.tmp", argv[5]);
    if ((dfd = open(argv[5], O_RDONLY | O_DIRECTORY)) < 0) return 1;
  }
  char url[3][512], auth[2048];
  snprintf(url[0], sizeof url[0], "%s/c9Xk2/webhooks/attach", base);
  snprintf(url[1], sizeof url[1], "%s/c9Xk2/webhooks/update", base);
  snprintf(url[2], sizeof url[2], "%s/c9Xk2/webhooks/detach", base);
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
  const char *method[3] = {"POST", "PATCH", "DELETE"};
  const char *body[3] = {
      "{\"name\":\"bench\",\"url\":\"https://bench.example/hook\",\"events\":[\"lead-created\",\"lead-updated\"]}",
      "{\"id\":\"550e8400-e29b-41d4-a716-446655440000\",\"token\":\"Zq3Kx8NwLp2Rt6Vy9Bc4Df7Gh1Jk5Mn0Pq8St2Uv\","
      "\"url\":\"https://bench.example/v2\"}",
      "{\"id\":\"550e8400-e29b-41d4-a716-446655440000\",\"token\":\"Zq3Kx8NwLp2Rt6Vy9Bc4Df7Gh1Jk5Mn0Pq8St2Uv\"}"};
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURL *c = curl_easy_init();
  struct curl_slist *h = NULL;
  h = curl_slist_append(h, auth);
  h = curl_slist_append(h, "Accept: application/json");
  h = curl_slist_append(h, "Content-Type: application/json");
  h = curl_slist_append(h, "User-Agent: ref");
  h = curl_slist_append(h, "Expect:");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_CAINFO, ca);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
  for (int i = 0; i < n; i++) {
    for (int k = 0; k < 3; k++) {
      curl_easy_setopt(c, CURLOPT_URL, url[k]);
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method[k]);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, body[k]);
      long status = 0;
      if (curl_easy_perform(c) != CURLE_OK ||
          curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status >= 300) {
        fprintf(stderr, "ref: request failed\n");
        return 1;
      }
      if (dfd >= 0 && replace_file(dfd, tmp, path, data, size) != 0) return 1;
    }
  }
  if (dfd >= 0) close(dfd);
  free(data);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  curl_global_cleanup();
  return 0;
}
