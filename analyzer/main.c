/* main.c: flowhunt's command line.
 *
 * flowhunt is the batch analyzer: it will scan stored flow segments and run the hunts. This
 * release has no subcommand yet (segments and hunts come with the storage and hunt work); it
 * answers --version and --help so scripts and packaging can rely on both programs existing.
 */
#include <stdio.h>
#include <string.h>

#include "version.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: flowhunt --version | --help\n"
               "\n"
               "The threat-hunting analyzer over stored flows. This release has no hunts yet:\n"
               "decode captures with `flowhuntd --read FILE --print csv|json`.\n"
               "\n"
               "  -V, --version  print the version and exit\n"
               "  -h, --help     print this help and exit\n");
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
        printf("flowhunt %s\n", FH_VERSION);
        return 0;
    }
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
