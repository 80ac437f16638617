/* version.h: the one version number both programs print. */
#ifndef FH_VERSION_H
#define FH_VERSION_H
#define FH_VERSION "0.1.0"
#endif
