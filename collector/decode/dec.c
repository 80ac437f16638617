/* dec.c: names and descriptions of the decoders' malformation codes. */
#include "dec.h"

static const char *const dec_names[DEC_N_ERRORS] = {"ok",
#define DEC_X_NAME(code, name, desc) name,
                                                    DEC_ERRORS(DEC_X_NAME)
#undef DEC_X_NAME
};

static const char *const dec_descs[DEC_N_ERRORS] = {"no error",
#define DEC_X_DESC(code, name, desc) desc,
                                                    DEC_ERRORS(DEC_X_DESC)
#undef DEC_X_DESC
};

const char *dec_err_name(int code)
{
    if (code < 0)
        code = -code;
    return code < DEC_N_ERRORS ? dec_names[code] : "unknown_error";
}

const char *dec_err_desc(int code)
{
    if (code < 0)
        code = -code;
    return code < DEC_N_ERRORS ? dec_descs[code] : "unknown error code";
}
