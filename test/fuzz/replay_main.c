/*
 * replay_main.c: runs a fuzz target over every file of a corpus directory (or
 * over the files named on the command line), without libFuzzer. It keeps the
 * inputs that once crashed a target as regression tests in every build.
 *
 * Like the test harness it prints one "PASS corpus/<target> (replayed N inputs)" or
 * "FAIL corpus/<target>: why" line (target: this binary's name without _replay),
 * which hack/test.sh counts, then the closing line "# <target>_corpus: N passed, N failed"
 * that hack/test.sh requires of every test that exits 0; a crash prints neither, and the
 * exit status says so.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
            }
            buf = nb;
        }
    }
    fclose(f);
    if (!buf)
        return -1;
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

/* The target's name: argv[0]'s last component without "_replay". */
static void target_name(const char *argv0, char *out, size_t size)
{
    const char *base = strrchr(argv0, '/');
    snprintf(out, size, "%s", base ? base + 1 : argv0);
    size_t n = strlen(out);
    if (n > 7 && strcmp(out + n - 7, "_replay") == 0)
        out[n - 7] = '\0';
}

static int failed(const char *name, const char *why, const char *path)
{
    printf("FAIL corpus/%s: %s %s\n", name, why, path);
    printf("# %s_corpus: 0 passed, 1 failed\n", name);
    return 1;
}

int main(int argc, char **argv)
{
    int count = 0;
    char name[256];
    target_name(argc > 0 ? argv[0] : "fuzz", name, sizeof(name));
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0)
            return failed(name, "no such file or directory:", argv[i]);
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i]) != 0)
                return failed(name, "cannot read", argv[i]);
            count++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            char path[4096];
            if (de->d_name[0] == '.')
                continue;
            snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
            if (run_file(path) != 0) {
                closedir(d);
                return failed(name, "cannot read", path);
            }
            count++;
        }
        if (d)
            closedir(d);
    }
    if (count == 0)
        return failed(name, "no inputs in", argc > 1 ? argv[1] : "(no corpus named)");
    printf("PASS corpus/%s (replayed %d inputs)\n", name, count);
    printf("# %s_corpus: 1 passed, 0 failed\n", name);
    return 0;
}
