/*
 * store.c — see store.h. Plain POSIX: open/flock/fsync/rename.
 */
#define _GNU_SOURCE /* O_NOATIME */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* Reading the store must not dirty its inode (an atime update would join
 * the next write's fsync); O_NOATIME is refused (EPERM) for others' files. */
#ifdef O_NOATIME
#define NOATIME O_NOATIME
#else
#define NOATIME 0
#endif

static int fail(char *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, AS_ERR_SIZE, fmt, ap);
  va_end(ap);
  return -1;
}

/* Splits `path` into its folder (into `dir`) and the name within it. */
static int split(const char *path, char dir[PATH_MAX], const char **base, char *err) {
  size_t len = strlen(path);
  if (len == 0 || len >= PATH_MAX - 32) return fail(err, "store path is empty or too long");
  const char *slash = strrchr(path, '/');
  if (slash == NULL) {
    strcpy(dir, ".");
    *base = path;
  } else if (slash == path) {
    strcpy(dir, "/");
    *base = slash + 1;
  } else {
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    *base = slash + 1;
  }
  if (**base == '\0') return fail(err, "store path %s names a folder, not a file", path);
  return 0;
}

/* Reads the whole regular file open on `fd` (named `path` in messages) into
 * a malloc'd buffer, after the checks as_read promises. With `shrink_ok`,
 * a file cut short while being read (notes emptied by a writer) gives what
 * was read instead of an error. */
static int read_fd(int fd, const char *path, int shrink_ok, char **data, size_t *len, char *err) {
  struct stat st;
  if (fstat(fd, &st) != 0) return fail(err, "cannot stat store %s: %s", path, strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail(err, "store %s is not a regular file", path);
  if (st.st_uid != geteuid())
    return fail(err, "store %s belongs to another user (uid %ld)", path, (long)st.st_uid);
  if (st.st_mode & 077)
    return fail(err, "store %s is open to other users (mode %03o): run chmod 600 %s", path,
                (unsigned)(st.st_mode & 0777), path);
  if (st.st_size > AS_MAX_SIZE)
    return fail(err, "store %s is larger than %d bytes", path, AS_MAX_SIZE);
  char *buf = malloc((size_t)st.st_size + 1);
  if (buf == NULL) return fail(err, "out of memory reading store %s", path);
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 && shrink_ok) break;
    if (n <= 0) {
      free(buf);
      return fail(err, "cannot read store %s: %s", path, n < 0 ? strerror(errno) : "file shrank");
    }
    got += (size_t)n;
  }
  buf[got] = '\0';
  *data = buf;
  *len = got;
  return 0;
}

/* as_read, passing `shrink_ok` to read_fd. */
static int read_path(const char *path, int shrink_ok, char **data, size_t *len, char *err) {
  *data = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | NOATIME);
  if (fd < 0 && errno == EPERM) fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return 0;
    if (errno == ELOOP) return fail(err, "store %s is a symbolic link; animo refuses it", path);
    return fail(err, "cannot open store %s: %s", path, strerror(errno));
  }
  int rc = read_fd(fd, path, shrink_ok, data, len, err);
  close(fd);
  return rc;
}

int as_read(const char *path, char **data, size_t *len, char *err) {
  return read_path(path, 0, data, len, err);
}

/* Creates the folder of `path` and its missing parents, new ones 0700. */
static int make_folder(const char *path, char *err) {
  char dir[PATH_MAX];
  const char *base;
  if (split(path, dir, &base, err) != 0) return -1;
  /* Create each missing component; chmod because umask may have cut bits. */
  for (char *p = dir + 1;; p++) {
    if (*p != '/' && *p != '\0') continue;
    char saved = *p;
    *p = '\0';
    if (mkdir(dir, 0700) == 0) {
      if (chmod(dir, 0700) != 0)
        return fail(err, "cannot chmod folder %s: %s", dir, strerror(errno));
    } else if (errno != EEXIST) {
      return fail(err, "cannot create folder %s: %s", dir, strerror(errno));
    }
    *p = saved;
    if (saved == '\0') break;
  }
  return 0;
}

int as_lock(const char *path, long wait_ms, int *fd, char *err) {
  char lock[PATH_MAX];
  if (snprintf(lock, sizeof lock, "%s.lock", path) >= (int)sizeof lock)
    return fail(err, "store path too long");
  int f = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (f < 0 && errno == ENOENT) { /* the first write: make the folders */
    if (make_folder(path, err) != 0) return -1;
    f = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  }
  if (f < 0) return fail(err, "cannot open lock file %s: %s", lock, strerror(errno));
#ifdef ANIMO_DEBUG_NO_STORE_LOCK
  *fd = f; /* "locked" without flock: concurrent writers now race */
  return 0;
#endif
  struct timespec start, now, pause = {0, 5 * 1000 * 1000};
  clock_gettime(CLOCK_MONOTONIC, &start);
  while (flock(f, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      fail(err, "cannot lock %s: %s", lock, strerror(errno));
      close(f);
      return -1;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    long waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    if (waited >= wait_ms) {
      close(f);
      fail(err, "store %s is locked by another process (waited %ld ms)", path, waited);
      return 1;
    }
    nanosleep(&pause, NULL);
  }
  *fd = f;
  return 0;
}

void as_unlock(int fd) {
  if (fd >= 0) close(fd); /* closing the descriptor releases the flock */
}

static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* {"notes":"<16 hex digits>"} and a newline. */
#define NOTES_HEADER_LEN 29

/* Writes a header with a fresh name at the start of the lock file, so a
 * document that folded the old notes in does not skip new ones; the name
 * is from getrandom, not the host's rand(). */
static int write_notes_header(int fd) {
  uint64_t name = 0;
  if (getrandom(&name, sizeof name, GRND_NONBLOCK) != (ssize_t)sizeof name) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    name = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 40);
  }
  char header[NOTES_HEADER_LEN + 1];
  snprintf(header, sizeof header, "{\"notes\":\"%016llx\"}\n", (unsigned long long)name);
  ssize_t n = pwrite(fd, header, NOTES_HEADER_LEN, 0);
  if (n == NOTES_HEADER_LEN) return 0;
  if (n >= 0) errno = ENOSPC; /* a short write leaves errno as it was */
  return -1;
}

static int is_notes_header(const char *h) {
  if (memcmp(h, "{\"notes\":\"", 10) != 0 || memcmp(h + 26, "\"}\n", 3) != 0) return 0;
  for (int i = 10; i < 26; i++) {
    if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f'))) return 0;
  }
  return 1;
}

int as_note(int fd, const char *data, size_t len, char *err) {
  off_t end = lseek(fd, 0, SEEK_END);
  if (end < 0 || (end == 0 && write_notes_header(fd) != 0) || lseek(fd, 0, SEEK_END) < 0 ||
      write_all(fd, data, len) != 0)
    return fail(err, "cannot note in the store's lock file: %s", strerror(errno));
  return 0;
}

int as_clear_notes(int fd, char *err) {
  /* Cut the notes but keep the old header, then rename it in place: a crash
   * in between leaves the old name with no notes. Cutting to zero instead
   * would free the file's block, and ext4 flushes a file written after
   * being cut to zero when it is closed (auto_da_alloc): a disk write per
   * attach. */
  char old[NOTES_HEADER_LEN];
  int in_place = pread(fd, old, sizeof old, 0) == (ssize_t)sizeof old && is_notes_header(old);
  if (ftruncate(fd, in_place ? NOTES_HEADER_LEN : 0) != 0 || write_notes_header(fd) != 0)
    return fail(err, "cannot empty the store's lock file: %s", strerror(errno));
  return 0;
}

int as_read_notes(const char *path, int fd, char **data, size_t *len, char *err) {
  char lock[PATH_MAX];
  if (snprintf(lock, sizeof lock, "%s.lock", path) >= (int)sizeof lock)
    return fail(err, "store path too long");
  if (fd < 0) return read_path(lock, 1, data, len, err);
  *data = NULL;
  *len = 0;
  if (lseek(fd, 0, SEEK_SET) < 0) return fail(err, "cannot read %s: %s", lock, strerror(errno));
  return read_fd(fd, lock, 0, data, len, err);
}

/* Removes ".<base>.tmp.*" files in `dir`: writers killed mid-write. */
static void remove_stale_temps(const char *dir, const char *base) {
  char prefix[NAME_MAX + 8];
  int plen = snprintf(prefix, sizeof prefix, ".%s.tmp.", base);
  if (plen < 0 || plen >= (int)sizeof prefix) return;
  DIR *d = opendir(dir);
  if (d == NULL) return;
  int dfd = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strncmp(e->d_name, prefix, (size_t)plen) == 0) unlinkat(dfd, e->d_name, 0);
  }
  closedir(d);
}

int as_check_room(const char *path, size_t len, char *err) {
  char dir[PATH_MAX];
  const char *base;
  if (split(path, dir, &base, err) != 0) return -1;
  if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) != 0)
    return fail(err, "cannot save store %s: its folder is not writable (%s)", path,
                strerror(errno));
  if (len > AS_MAX_SIZE)
    return fail(err, "cannot save store %s: it would grow past %d bytes", path, AS_MAX_SIZE);
  struct rlimit fsize;
  if (getrlimit(RLIMIT_FSIZE, &fsize) == 0 && fsize.rlim_cur != RLIM_INFINITY &&
      fsize.rlim_cur < (rlim_t)len)
    return fail(err, "cannot save store %s: %zu bytes exceed this process's file size limit", path,
                len);
  struct statvfs fs;
  /* The new file is written before the old one goes: both need room. */
  if (statvfs(dir, &fs) == 0 && (unsigned long long)fs.f_bavail * fs.f_frsize < len + 65536ULL)
    return fail(err, "cannot save store %s: the disk is full", path);
  return 0;
}

int as_replace(const char *path, const char *data, size_t len, int sweep, char *err) {
  char dir[PATH_MAX], tmp[PATH_MAX];
  const char *base;
  if (split(path, dir, &base, err) != 0) return -1;
  if (sweep) remove_stale_temps(dir, base);
  if (snprintf(tmp, sizeof tmp, "%s/.%s.tmp.XXXXXX", dir, base) >= (int)sizeof tmp)
    return fail(err, "store path too long");
  int fd = mkstemp(tmp);
  if (fd < 0) return fail(err, "cannot create a temp file in %s: %s", dir, strerror(errno));
  const char *step = NULL;
  if (fchmod(fd, 0600) != 0)
    step = "chmod";
  else if (write_all(fd, data, len) != 0)
    step = "write";
  else if (fsync(fd) != 0)
    step = "fsync"; /* reported, never retried */
  int saved = errno;
  if (close(fd) != 0 && step == NULL) {
    step = "close";
    saved = errno;
  }
  if (step == NULL && rename(tmp, path) != 0) {
    step = "rename";
    saved = errno;
  }
  if (step != NULL) {
    unlink(tmp);
    return fail(err, "cannot save store %s (%s: %s); the old store is unchanged", path, step,
                strerror(saved));
  }
  /* Make the rename itself durable. */
  int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || fsync(dfd) != 0) {
    saved = errno;
    if (dfd >= 0) close(dfd);
    return fail(err, "store %s saved but its folder could not be synced: %s", path,
                strerror(saved));
  }
  close(dfd);
  return 0;
}
