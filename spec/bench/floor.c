/*
 * floor.c — the disk's own floor for a store write: N atomic replaces of a
 * SIZE-byte file (temp file, write, fsync, rename, fsync of the folder),
 * as core/store.c does, without locking, reading or JSON.
 *   floor DIR SIZE N
 */
#include <stdlib.h>
#include <string.h>

#include "replace.h"

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  const char *dir = argv[1];
  size_t size = (size_t)atol(argv[2]);
  int n = atoi(argv[3]);
  char *data = malloc(size), path[4096], tmp[4096];
  if (data == NULL) return 1;
  memset(data, 'x', size);
  snprintf(path, sizeof path, "%s/floor.json", dir);
  snprintf(tmp, sizeof tmp, "%s/.floor.json.tmp", dir);
  int dfd = open(dir, O_RDONLY | O_DIRECTORY);
  for (int i = 0; i < n; i++) {
    if (replace_file(dfd, tmp, path, data, size) != 0) return 1;
  }
  close(dfd);
  free(data);
  return 0;
}
