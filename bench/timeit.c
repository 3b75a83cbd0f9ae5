/*
 * timeit [-t SECONDS] [-i FILE] CMD [ARGS...]: runs CMD (stdin from FILE if given), then
 * prints "timeit <nanoseconds> <exit status> <peak RSS of CMD in KiB>" on stderr. With -t,
 * CMD is killed after SECONDS and the status is 124 (the time is then the limit). The bench times commands with it inside
 * network namespaces, so `ip netns exec` and Node's process spawning stay out of the figure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int first = 1;
  const char *input = NULL;
  double limit = 0;
  while (first + 1 < argc && (strcmp(argv[first], "-i") == 0 || strcmp(argv[first], "-t") == 0)) {
    if (argv[first][1] == 'i') input = argv[first + 1];
    else limit = atof(argv[first + 1]);
    first += 2;
  }
  if (first >= argc) {
    fprintf(stderr, "usage: timeit [-i FILE] CMD [ARGS...]\n");
    return 2;
  }
  int fd = -1;
  if (input) {
    fd = open(input, O_RDONLY);
    if (fd < 0) { perror(input); return 2; }
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid == 0) {
    if (fd >= 0) { dup2(fd, 0); close(fd); }
    execvp(argv[first], argv + first);
    perror(argv[first]);
    _exit(127);
  }
  int status = 0;
  int killed = 0;
  struct rusage ru;
  memset(&ru, 0, sizeof ru);
  for (;;) {
    pid_t r = wait4(pid, &status, limit > 0 ? WNOHANG : 0, &ru);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) { perror("wait4"); return 2; }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (limit > 0 && (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9 > limit) {
      kill(pid, SIGKILL);
      wait4(pid, &status, 0, &ru);
      killed = 1;
      break;
    }
    struct timespec nap = { 0, 1000000 };
    nanosleep(&nap, NULL);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long long ns = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
  int code = killed ? 124 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  fprintf(stderr, "timeit %lld %d %ld\n", ns, code, ru.ru_maxrss);
  return code;
}
