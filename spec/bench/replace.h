/*
 * replace.h — one atomic replace of `path` by `size` bytes of `data`, the
 * way core/store.c saves the store (temp file, write, fsync, rename, fsync
 * of the folder `dfd`), for the C loops of spec/bench/compare.sh.
 */
#ifndef ANIMO_BENCH_REPLACE_H
#define ANIMO_BENCH_REPLACE_H

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static int replace_file(int dfd, const char *tmp, const char *path, const char *data, size_t size) {
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || write(fd, data, size) != (ssize_t)size || fsync(fd) != 0 || close(fd) != 0 ||
      rename(tmp, path) != 0 || fsync(dfd) != 0) {
    perror("replace");
    return -1;
  }
  return 0;
}

#endif
