// Deletes DIR/NAME with unlinkat() on a directory descriptor, from a second
// thread: the snapshot gate must fetch that descriptor from the calling
// thread (pidfd_getfd), whatever the kernel's pidfd flavours.
//   dirfd_probe DIR NAME     prints "unlinkat ok" or "unlinkat errno=N"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static int dir_fd;
static const char* name;
static int result;

static void* work(void* arg) {
    (void)arg;
    result = unlinkat(dir_fd, name, 0) == 0 ? 0 : errno;
    return NULL;
}

int main(int argc, char** argv) {
    if (argc != 3) return 2;
    dir_fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) return 2;
    name = argv[2];
    work(NULL);  // from the main thread
    if (result == 0) {
        // And from another thread, on a file made again.
        int fd = openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) return 2;
        close(fd);
        pthread_t t;
        if (pthread_create(&t, NULL, work, NULL) != 0) return 2;
        pthread_join(t, NULL);
    }
    if (result == 0) printf("unlinkat ok\n");
    else printf("unlinkat errno=%d\n", result);
    return 0;
}
