/*
 * floor.c — the disk's own floor for a store write: N atomic replaces of a
 * SIZE-byte file (temp file, write, fsync, rename, fsync of the folder),
 * as core/store.c does, without locking, reading or JSON.
 *   floor DIR SIZE N
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size || fsync(fd) != 0 || close(fd) != 0 ||
        rename(tmp, path) != 0 || fsync(dfd) != 0) {
      perror("floor");
      return 1;
    }
  }
  close(dfd);
  free(data);
  return 0;
}
