/* test_siem.c: the SIEM formats (analyzer/hunt_siem.c) checked against the schemas themselves.
 *
 * Findings come from two places: the real pipeline (flowgen writes a capture, `flowhuntd --read`
 * stores it, `flowhunt hunt --format json|ecs|ocsf` reports it) and hand-built findings that
 * carry what flowgen's data cannot (GeoIP and ASN context, a user and host name, an IPv6 peer,
 * a suppressed ICMP finding on a network peer). Every ECS document is checked against
 * ../shared/reference/ecs-fields.json: each field outside `flowhunt.` exists and its value fits
 * the field's type (keyword and text strings, long and integer numbers, ISO 8601 dates, valid
 * addresses, allowed values, arrays where ECS normalizes to an array). Every OCSF finding is
 * checked against ../shared/reference/ocsf-schema/: the class is resolved through `extends` and
 * `$include` (Detection Finding -> Finding -> Base Event, and each object the same way), every
 * attribute must be defined there, required attributes (and those of declared profiles) present,
 * at_least_one constraints met, enum values legal with their caption siblings matching, scalar
 * types right, and type_uid = class_uid * 100 + activity_id. The values are also compared with
 * the native JSON report of the same run (hunt ID, risk, technique and tactic, peer, action),
 * and two runs with the same --now must give the same bytes. Without ../shared/reference the
 * tests that need it skip with a message saying so.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <jansson.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hunt.h"
#include "task.h"
#include "version.h"

/* ---- helpers ------------------------------------------------------------------------------- */

/* A file of ../shared/reference (FH_SHARED_REFERENCE overrides); skips the test when absent. */
static const char *sx_ref(const char *rel)
{
    static char path[4096];
    const char *env = getenv("FH_SHARED_REFERENCE");
    const char *base = env && *env ? env : "../shared/reference";
    struct stat st;
    if (stat(base, &st) != 0 || !S_ISDIR(st.st_mode))
        SKIP("%s is absent (set FH_SHARED_REFERENCE to the schemas' location)", base);
    snprintf(path, sizeof path, "%s/%s", base, rel);
    if (stat(path, &st) != 0)
        SKIP("reference file %s is missing", path);
    return path;
}

static json_t *sx_load(const char *path)
{
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j)
        TEST_FAIL_AT("%s:%d: %s", path, err.line, err.text);
    return j;
}

/* json_t at a dotted path ("event.kind"), or NULL. */
static json_t *sx_get(json_t *j, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    char *sv = NULL;
    for (char *k = strtok_r(buf, ".", &sv); k && j; k = strtok_r(NULL, ".", &sv))
        j = json_object_get(j, k);
    return j;
}

static const char *sx_str(json_t *j, const char *path)
{
    const char *s = json_string_value(sx_get(j, path));
    return s ? s : "";
}

static int sx_array_has(json_t *a, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i,
                       v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return 1;
    return 0;
}

static int sx_is_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int sx_is_iso(const char *s)
{
    regex_t re;
    ASSERT_EQ(regcomp(&re,
                      "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?"
                      "(Z|[+-][0-9]{2}:[0-9]{2})$",
                      REG_EXTENDED | REG_NOSUB),
              0);
    int ok = regexec(&re, s, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

/* The ATT&CK tactic of each technique the hunts report (attack.mitre.org), independent of the
 * table in hunt_siem.c. */
static const char *sx_tactic_of(const char *tech)
{
    static const char *const t[][2] = {
        {"T1071", "TA0011"}, {"T1571", "TA0011"}, {"T1095", "TA0011"}, {"T1572", "TA0011"},
        {"T1046", "TA0007"}, {"T1048", "TA0010"}, {"T1041", "TA0010"}, {"T1496", "TA0040"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strncmp(tech, t[i][0], 5) == 0)
            return t[i][1];
    return NULL;
}

/* ---- ECS --------------------------------------------------------------------------------- */

/* Fields whose ECS definition says `normalize: [array]` (ecs_flat.yml; ecs-fields.json keeps
 * only types and allowed values): these must be arrays even with one value. */
static const char *const sx_ecs_arrays[] = {"event.category",
                                            "event.type",
                                            "host.ip",
                                            "related.ip",
                                            "related.hosts",
                                            "related.user",
                                            "tags",
                                            "threat.technique.id",
                                            "threat.technique.name",
                                            "threat.technique.reference",
                                            "threat.technique.subtechnique.id",
                                            "threat.technique.subtechnique.name",
                                            "threat.technique.subtechnique.reference",
                                            "threat.tactic.id",
                                            "threat.tactic.name",
                                            "threat.tactic.reference"};

static int sx_ecs_must_array(const char *path)
{
    for (size_t i = 0; i < sizeof sx_ecs_arrays / sizeof sx_ecs_arrays[0]; i++)
        if (strcmp(path, sx_ecs_arrays[i]) == 0)
            return 1;
    return 0;
}

/* One scalar against an ECS type; the reason in *why when it does not fit. */
static int sx_ecs_scalar(json_t *def, const char *path, json_t *v, char *why, size_t cap)
{
    const char *type = json_string_value(json_object_get(def, "type"));
    int ok;
    if (!type)
        ok = 0;
    else if (!strcmp(type, "keyword") || !strcmp(type, "constant_keyword") ||
             !strcmp(type, "wildcard") || !strcmp(type, "match_only_text") || !strcmp(type, "text"))
        ok = json_is_string(v);
    else if (!strcmp(type, "long") || !strcmp(type, "integer") || !strcmp(type, "short") ||
             !strcmp(type, "byte"))
        ok = json_is_integer(v);
    else if (!strcmp(type, "float") || !strcmp(type, "scaled_float") || !strcmp(type, "double") ||
             !strcmp(type, "half_float"))
        ok = json_is_number(v);
    else if (!strcmp(type, "boolean"))
        ok = json_is_boolean(v);
    else if (!strcmp(type, "date"))
        ok = json_is_string(v) && sx_is_iso(json_string_value(v));
    else if (!strcmp(type, "ip"))
        ok = json_is_string(v) && sx_is_ip(json_string_value(v));
    else
        ok = 0; /* a type this writer never uses: fail so the check is extended, not skipped */
    if (!ok) {
        char *d = json_dumps(v, JSON_ENCODE_ANY);
        snprintf(why, cap, "%s = %s does not fit ECS type %s", path, d ? d : "?",
                 type ? type : "(none)");
        free(d);
        return -1;
    }
    json_t *allowed = json_object_get(def, "allowed_values");
    if (allowed && !sx_array_has(allowed, json_string_value(v))) {
        snprintf(why, cap, "%s = \"%s\" is not an allowed value", path, json_string_value(v));
        return -1;
    }
    return 0;
}

/* Walks an ECS document; counts the fields checked. */
static int sx_ecs_walk(json_t *fields, const char *prefix, json_t *obj, int *n, char *why,
                       size_t cap)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        char path[256];
        snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", key);
        if (!prefix[0] && strcmp(key, "flowhunt") == 0)
            continue; /* the custom namespace: ECS asks custom fields to live in one */
        json_t *def = json_object_get(fields, path);
        const char *type = def ? json_string_value(json_object_get(def, "type")) : NULL;
        if (!def) {
            if (!json_is_object(v)) {
                snprintf(why, cap, "%s is not an ECS field", path);
                return -1;
            }
            if (sx_ecs_walk(fields, path, v, n, why, cap) != 0)
                return -1;
            continue;
        }
        (*n)++;
        if (type && (!strcmp(type, "object") || !strcmp(type, "flattened"))) {
            if (!json_is_object(v)) {
                snprintf(why, cap, "%s must be an object", path);
                return -1;
            }
            continue;
        }
        if (type && !strcmp(type, "nested")) {
            size_t i;
            json_t *e;
            if (!json_is_array(v)) {
                snprintf(why, cap, "%s (nested) must be an array of objects", path);
                return -1;
            }
            json_array_foreach(v, i, e) if (!json_is_object(e) ||
                                            sx_ecs_walk(fields, path, e, n, why, cap) != 0)
            {
                if (!why[0])
                    snprintf(why, cap, "%s[%zu] must be an object", path, i);
                return -1;
            }
            continue;
        }
        if (json_is_array(v)) {
            size_t i;
            json_t *e;
            if (json_array_size(v) == 0) {
                snprintf(why, cap, "%s is an empty array", path);
                return -1;
            }
            json_array_foreach(v, i, e) if (sx_ecs_scalar(def, path, e, why, cap) != 0) return -1;
        } else if (sx_ecs_must_array(path)) {
            snprintf(why, cap, "%s must be an array (ECS normalize: array)", path);
            return -1;
        } else if (sx_ecs_scalar(def, path, v, why, cap) != 0) {
            return -1;
        }
    }
    return 0;
}

/* Checks one ECS line against the schema; returns the fields checked. */
static int sx_ecs_check(json_t *fields, json_t *doc)
{
    char why[1024] = "";
    int n = 0;
    if (sx_ecs_walk(fields, "", doc, &n, why, sizeof why) != 0) {
        char *d = json_dumps(doc, JSON_COMPACT);
        TEST_FAIL_AT("ECS: %s\n  in %s", why, d ? d : "?");
    }
    /* what every alert of this writer must carry */
    ASSERT(sx_is_iso(sx_str(doc, "@timestamp")));
    ASSERT_STR_EQ(sx_str(doc, "event.kind"), "alert");
    ASSERT(sx_array_has(sx_get(doc, "event.category"), "network"));
    ASSERT(sx_array_has(sx_get(doc, "event.category"), "intrusion_detection"));
    ASSERT_STR_EQ(sx_str(doc, "threat.framework"), "MITRE ATT&CK");
    ASSERT(json_is_object(sx_get(doc, "flowhunt")));
    ASSERT(json_is_array(sx_get(doc, "flowhunt.compliance")));
    ASSERT(json_is_object(sx_get(doc, "flowhunt.evidence")));
    return n;
}

/* ---- OCSF ------------------------------------------------------------------------------- */

typedef struct sx_ocsf {
    char root[3800];
    json_t *dict;     /* dictionary.json "attributes" */
    json_t *types;    /* dictionary.json "types"."attributes" */
    json_t *objects;  /* name -> merged definition, loaded as needed */
    json_t *profiles; /* the event's metadata.profiles (borrowed) */
    int n_checked;
} sx_ocsf_t;

/* Merges the layer's attributes into acc: enum values are a union, the rest replaced. A profile
 * tag (_profile) marks attributes that count only when the event declares that profile. */
static void sx_merge_attrs(json_t *acc, json_t *attrs, const char *profile)
{
    const char *k;
    json_t *v;
    json_object_foreach(attrs, k, v)
    {
        if (k[0] == '$')
            continue;
        json_t *cur = json_object_get(acc, k);
        if (!cur) {
            cur = json_object();
            if (profile)
                json_object_set_new(cur, "_profile", json_string(profile));
            json_object_set_new(acc, k, cur);
        } else if (!profile && json_object_get(v, "profile") &&
                   json_is_null(json_object_get(v, "profile"))) {
            json_object_del(cur, "_profile"); /* "profile": null: part of the class itself */
        }
        const char *ak;
        json_t *av;
        json_object_foreach(v, ak, av)
        {
            if (!strcmp(ak, "enum") && json_object_get(cur, "enum"))
                json_object_update(json_object_get(cur, "enum"), av);
            else
                json_object_set(cur, ak, av);
        }
    }
}

/* The definition of an event class or object (its file's path relative to the schema root),
 * resolved through extends and $include: {"attributes": ..., "constraints": ...}. */
static json_t *sx_resolve(sx_ocsf_t *S, const char *rel, int is_class)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", S->root, rel);
    json_t *j = sx_load(path);
    json_t *def;
    const char *ext = json_string_value(json_object_get(j, "extends"));
    if (ext) {
        char prel[256];
        struct stat st;
        if (is_class) {
            snprintf(prel, sizeof prel, "events/%s.json", ext);
            snprintf(path, sizeof path, "%s/%s", S->root, prel);
            if (stat(path, &st) != 0)
                snprintf(prel, sizeof prel, "events/findings/%s.json", ext);
        } else {
            snprintf(prel, sizeof prel, "objects/%s.json", ext);
        }
        def = sx_resolve(S, prel, is_class);
    } else {
        def = json_pack("{s:o}", "attributes", json_object());
    }
    json_t *attrs = json_object_get(j, "attributes"), *acc = json_object_get(def, "attributes");
    size_t i;
    json_t *inc;
    json_array_foreach(json_object_get(attrs, "$include"), i, inc)
    {
        snprintf(path, sizeof path, "%s/%s", S->root, json_string_value(inc));
        json_t *p = sx_load(path);
        sx_merge_attrs(acc, json_object_get(p, "attributes"),
                       json_string_value(json_object_get(p, "name")));
        json_decref(p);
    }
    sx_merge_attrs(acc, attrs, NULL);
    if (json_object_get(j, "constraints"))
        json_object_set(def, "constraints", json_object_get(j, "constraints"));
    static const char *const keep[] = {"uid", "name", "caption", "category"};
    for (size_t k = 0; k < 4; k++)
        if (json_object_get(j, keep[k]))
            json_object_set(def, keep[k], json_object_get(j, keep[k]));
    json_decref(j);
    return def;
}

static json_t *sx_object(sx_ocsf_t *S, const char *name)
{
    json_t *d = json_object_get(S->objects, name);
    if (!d) {
        char rel[256];
        snprintf(rel, sizeof rel, "objects/%s.json", name);
        d = sx_resolve(S, rel, 0);
        json_object_set_new(S->objects, name, d);
    }
    return d;
}

/* An attribute as used: the dictionary's definition with the class or object's over it. */
static json_t *sx_effective(sx_ocsf_t *S, const char *name, json_t *local)
{
    json_t *base = json_object_get(S->dict, name);
    if (!base)
        return NULL;
    json_t *e = json_deep_copy(base);
    const char *k;
    json_t *v;
    json_object_foreach(local, k, v)
    {
        if (!strcmp(k, "enum") && json_object_get(e, "enum"))
            json_object_update(json_object_get(e, "enum"), v);
        else
            json_object_set(e, k, v);
    }
    return e;
}

static int sx_profile_on(sx_ocsf_t *S, json_t *attr)
{
    const char *p = json_string_value(json_object_get(attr, "_profile"));
    return !p || sx_array_has(S->profiles, p);
}

static int sx_ocsf_obj(sx_ocsf_t *S, json_t *def, json_t *val, const char *path, char *why,
                       size_t cap);

/* A scalar of an OCSF data type: the type's own base type, range, max_len, address form. */
static int sx_ocsf_scalar(sx_ocsf_t *S, const char *type, json_t *v, const char *path, char *why,
                          size_t cap)
{
    const char *base = type;
    json_t *t = json_object_get(S->types, type);
    for (int i = 0; i < 4 && json_object_get(json_object_get(S->types, base), "type"); i++)
        base = json_string_value(json_object_get(json_object_get(S->types, base), "type"));
    int ok;
    if (!strcmp(base, "string_t"))
        ok = json_is_string(v);
    else if (!strcmp(base, "integer_t") || !strcmp(base, "long_t"))
        ok = json_is_integer(v);
    else if (!strcmp(base, "float_t"))
        ok = json_is_number(v);
    else if (!strcmp(base, "boolean_t"))
        ok = json_is_boolean(v);
    else if (!strcmp(base, "json_t"))
        ok = 1;
    else
        ok = 0;
    if (ok && !strcmp(type, "ip_t"))
        ok = sx_is_ip(json_string_value(v));
    json_t *range = json_object_get(t, "range");
    if (ok && range && json_is_integer(v))
        ok = json_integer_value(v) >= json_integer_value(json_array_get(range, 0)) &&
             json_integer_value(v) <= json_integer_value(json_array_get(range, 1));
    json_t *max = json_object_get(t, "max_len");
    if (ok && max && json_is_string(v))
        ok = (json_int_t)strlen(json_string_value(v)) <= json_integer_value(max);
    if (!ok) {
        char *d = json_dumps(v, JSON_ENCODE_ANY);
        snprintf(why, cap, "%s = %s is not a valid %s", path, d ? d : "?", type);
        free(d);
        return -1;
    }
    return 0;
}

static int sx_ocsf_value(sx_ocsf_t *S, json_t *attr, json_t *v, const char *path, char *why,
                         size_t cap)
{
    const char *type = json_string_value(json_object_get(attr, "type"));
    if (!type) {
        snprintf(why, cap, "%s has no type in the schema", path);
        return -1;
    }
    size_t tl = strlen(type);
    if (tl > 2 && !strcmp(type + tl - 2, "_t")) {
        if (sx_ocsf_scalar(S, type, v, path, why, cap) != 0)
            return -1;
        json_t *en = json_object_get(attr, "enum");
        if (en) {
            char key[32];
            if (json_is_integer(v))
                snprintf(key, sizeof key, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            else
                snprintf(key, sizeof key, "%s", json_is_string(v) ? json_string_value(v) : "");
            if (!json_object_get(en, key)) {
                snprintf(why, cap, "%s = %s is not a value of its enum", path, key);
                return -1;
            }
        }
        return 0;
    }
    if (!strcmp(type, "object")) { /* free-form (unmapped) */
        if (!json_is_object(v)) {
            snprintf(why, cap, "%s must be an object", path);
            return -1;
        }
        return 0;
    }
    return sx_ocsf_obj(S, sx_object(S, type), v, path, why, cap);
}

static int sx_ocsf_obj(sx_ocsf_t *S, json_t *def, json_t *val, const char *path, char *why,
                       size_t cap)
{
    if (!json_is_object(val)) {
        snprintf(why, cap, "%s must be an object", path);
        return -1;
    }
    json_t *attrs = json_object_get(def, "attributes");
    const char *k;
    json_t *v;
    int rc = 0;
    json_object_foreach(val, k, v)
    {
        char sub[256];
        snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", k);
        json_t *local = json_object_get(attrs, k);
        json_t *attr = local ? sx_effective(S, k, local) : NULL;
        if (!attr) {
            snprintf(why, cap, "%s is not an attribute of %s", sub,
                     json_string_value(json_object_get(def, "name")));
            return -1;
        }
        S->n_checked++;
        int is_array = json_is_true(json_object_get(attr, "is_array"));
        if (is_array != json_is_array(v)) {
            snprintf(why, cap, "%s %s be an array", sub, is_array ? "must" : "must not");
            rc = -1;
        } else if (is_array) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i,
                               e) if ((rc = sx_ocsf_value(S, attr, e, sub, why, cap)) != 0) break;
        } else {
            rc = sx_ocsf_value(S, attr, v, sub, why, cap);
        }
        /* a caption sibling ("severity" of "severity_id") must say what the id means */
        const char *sib = json_string_value(json_object_get(attr, "sibling"));
        json_t *en = json_object_get(attr, "enum");
        if (!rc && sib && en && json_is_integer(v) && json_integer_value(v) != 99 &&
            json_object_get(val, sib)) {
            char key[32];
            snprintf(key, sizeof key, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            const char *caption =
                json_string_value(json_object_get(json_object_get(en, key), "caption"));
            const char *got = json_string_value(json_object_get(val, sib));
            if (!caption || !got || strcmp(caption, got) != 0) {
                snprintf(why, cap, "%s.%s = \"%s\" but %s %s means \"%s\"", path, sib,
                         got ? got : "?", k, key, caption ? caption : "?");
                rc = -1;
            }
        }
        json_decref(attr);
        if (rc)
            return rc;
    }
    json_object_foreach(attrs, k, v)
    {
        const char *req = json_string_value(json_object_get(v, "requirement"));
        if (req && !strcmp(req, "required") && sx_profile_on(S, v) && !json_object_get(val, k)) {
            snprintf(why, cap, "%s: required attribute %s is missing", path[0] ? path : "event", k);
            return -1;
        }
    }
    json_t *cons = json_object_get(def, "constraints");
    json_t *one = json_object_get(cons, "at_least_one");
    if (one) {
        size_t i, hit = 0;
        json_t *e;
        json_array_foreach(one, i, e) hit += json_object_get(val, json_string_value(e)) != NULL;
        if (!hit) {
            snprintf(why, cap, "%s: needs at least one of its at_least_one attributes", path);
            return -1;
        }
    }
    return 0;
}

static void sx_ocsf_init(sx_ocsf_t *S)
{
    memset(S, 0, sizeof *S);
    const char *dict = sx_ref("ocsf-schema/dictionary.json");
    snprintf(S->root, sizeof S->root, "%.*s", (int)(strlen(dict) - strlen("/dictionary.json")),
             dict);
    json_t *d = sx_load(dict);
    S->dict = json_incref(json_object_get(d, "attributes"));
    S->types = json_incref(json_object_get(json_object_get(d, "types"), "attributes"));
    json_decref(d);
    S->objects = json_object();
}

static void sx_ocsf_free(sx_ocsf_t *S)
{
    json_decref(S->dict);
    json_decref(S->types);
    json_decref(S->objects);
}

/* Checks one OCSF line against class 2004 as the schema defines it. */
static void sx_ocsf_check(sx_ocsf_t *S, json_t *cls, json_t *doc, const char *schema_version)
{
    char why[1024] = "";
    S->profiles = sx_get(doc, "metadata.profiles");
    if (sx_ocsf_obj(S, cls, doc, "", why, sizeof why) != 0) {
        char *d = json_dumps(doc, JSON_COMPACT);
        TEST_FAIL_AT("OCSF: %s\n  in %s", why, d ? d : "?");
    }
    json_int_t class_uid = json_integer_value(json_object_get(cls, "class_uid"));
    ASSERT_EQ(class_uid, 2004);
    ASSERT_EQ(json_integer_value(json_object_get(doc, "class_uid")), class_uid);
    ASSERT_EQ(json_integer_value(json_object_get(doc, "type_uid")),
              class_uid * 100 + json_integer_value(json_object_get(doc, "activity_id")));
    ASSERT_STR_EQ(sx_str(doc, "class_name"), json_string_value(json_object_get(cls, "caption")));
    char type_name[128];
    snprintf(type_name, sizeof type_name, "%s: %s", sx_str(doc, "class_name"),
             sx_str(doc, "activity_name"));
    ASSERT_STR_EQ(sx_str(doc, "type_name"), type_name);
    ASSERT_STR_EQ(sx_str(doc, "metadata.version"), schema_version);
    ASSERT_STR_EQ(sx_str(doc, "metadata.product.name"), "flowhunt");
}

/* The class and the schema version, for sx_ocsf_check. */
static json_t *sx_ocsf_class(sx_ocsf_t *S, char *version, size_t cap)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/version.json", S->root);
    json_t *v = sx_load(path);
    snprintf(version, cap, "%s", json_string_value(json_object_get(v, "version")));
    json_decref(v);
    json_t *cls = sx_resolve(S, "events/findings/detection_finding.json", 1);
    /* The schema generates the enums of category_uid and class_uid from the categories and
     * classes (base_event lists only 0): category uid, and category uid * 1000 + class uid. */
    snprintf(path, sizeof path, "%s/categories.json", S->root);
    json_t *cats = sx_load(path);
    const char *cat = json_string_value(json_object_get(cls, "category"));
    ASSERT_NOT_NULL(cat);
    json_t *cdef = json_object_get(json_object_get(cats, "attributes"), cat);
    json_int_t cat_uid = json_integer_value(json_object_get(cdef, "uid"));
    json_int_t class_uid = cat_uid * 1000 + json_integer_value(json_object_get(cls, "uid"));
    json_t *attrs = json_object_get(cls, "attributes");
    char key[32];
    snprintf(key, sizeof key, "%" JSON_INTEGER_FORMAT, cat_uid);
    json_object_set_new(json_object_get(attrs, "category_uid"), "enum",
                        json_pack("{s:{s:O}}", key, "caption", json_object_get(cdef, "caption")));
    snprintf(key, sizeof key, "%" JSON_INTEGER_FORMAT, class_uid);
    json_object_set_new(json_object_get(attrs, "class_uid"), "enum",
                        json_pack("{s:{s:O}}", key, "caption", json_object_get(cls, "caption")));
    json_object_set_new(cls, "class_uid", json_integer(class_uid));
    json_decref(cats);
    return cls;
}

/* Both schemas, loaded once per test. */
typedef struct sx_schemas {
    json_t *ecs, *fields; /* ecs-fields.json and its "fields" */
    sx_ocsf_t ocsf;
    json_t *cls; /* class 2004, resolved */
    char version[64];
} sx_schemas_t;

static void sx_schemas_load(sx_schemas_t *x)
{
    x->ecs = sx_load(sx_ref("ecs-fields.json"));
    x->fields = json_object_get(x->ecs, "fields");
    ASSERT(json_object_size(x->fields) > 1000);
    sx_ocsf_init(&x->ocsf);
    x->cls = sx_ocsf_class(&x->ocsf, x->version, sizeof x->version);
}

static void sx_schemas_free(sx_schemas_t *x)
{
    json_decref(x->cls);
    sx_ocsf_free(&x->ocsf);
    json_decref(x->ecs);
}

/* ---- the pipeline ------------------------------------------------------------------------- */

#define SX_ARGS                                                                                    \
    "--internal 10.0.0.0/16 --resolvers 10.0.0.53,10.0.1.53 --no-state --now 2024-03-02T00:00:00Z"

/* flowgen's beacons, scans and DNS tunnels, stored and hunted; returns the directory. */
static const char *sx_store(void)
{
    static char dir[600];
    char pcap[600];
    snprintf(dir, sizeof dir, "%s/d", test_tmpdir());
    snprintf(pcap, sizeof pcap, "%s/d.pcap", test_tmpdir());
    test_flowgen_store(dir, pcap, "",
                       "--format v5 --flows 3000 --seed 42 --start 2024-03-01T00:00:00Z --hours 6 "
                       "--exporters 3");
    return dir;
}

static char *sx_hunt(const char *dir, const char *fmt)
{
    char *out;
    ASSERT_EQ(test_runf(&out, "%s hunt %s " SX_ARGS " --format %s 2>/dev/null", test_bin("flowhunt"),
                     dir, fmt),
              1); /* findings reported */
    ASSERT_NOT_NULL(out);
    return out;
}

/* The lines of a report, parsed. */
static json_t *sx_lines(const char *text)
{
    json_t *a = json_array();
    char *copy = strdup(text), *sv = NULL;
    ASSERT_NOT_NULL(copy);
    for (char *l = strtok_r(copy, "\n", &sv); l; l = strtok_r(NULL, "\n", &sv)) {
        json_error_t err;
        json_t *j = json_loads(l, 0, &err);
        if (!j)
            TEST_FAIL_AT("not JSON (%s): %s", err.text, l);
        json_array_append_new(a, j);
    }
    free(copy);
    return a;
}

static int sx_risk_index(const char *risk)
{
    static const char *const n[] = {"None", "Low", "Medium", "High", "Critical"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(risk, n[i]))
            return i;
    TEST_FAIL_AT("unknown risk level %s", risk);
}

/* ECS against the native report of the same run. */
static void sx_ecs_agrees(json_t *e, json_t *n)
{
    static const int risk_score[] = {0, 21, 47, 73, 99};
    int risk = sx_risk_index(sx_str(n, "risk_level"));
    ASSERT_STR_EQ(sx_str(e, "event.id"), sx_str(n, "hunt_id"));
    ASSERT_EQ(json_number_value(sx_get(e, "event.risk_score")), risk_score[risk]);
    ASSERT_EQ(json_integer_value(sx_get(e, "event.severity")), risk);
    /* the hunts flowgen's data triggers all report the host as the side that opened */
    ASSERT_STR_EQ(sx_str(e, "network.direction"),
                  strchr(sx_str(n, "peer"), '.') || strchr(sx_str(n, "peer"), ':')
                      ? (strncmp(sx_str(n, "peer"), "10.0.", 5) == 0 ? "internal" : "outbound")
                      : "unknown");
    ASSERT_STR_EQ(sx_str(e, "source.ip"), sx_str(n, "host"));
    ASSERT(sx_array_has(sx_get(e, "host.ip"), sx_str(n, "host")));
    ASSERT_STR_EQ(sx_str(e, "flowhunt.confidence"), sx_str(n, "confidence"));
    ASSERT_STR_EQ(sx_str(e, "flowhunt.recommended_action"), sx_str(n, "recommended_action"));
    ASSERT_STR_EQ(sx_str(e, "flowhunt.fingerprint"), sx_str(n, "fingerprint"));
    ASSERT_STR_EQ(sx_str(e, "event.reason"), sx_str(n, "summary"));
    ASSERT(json_equal(sx_get(e, "flowhunt.compliance"), sx_get(n, "compliance")));
    ASSERT(json_equal(sx_get(e, "flowhunt.evidence"), sx_get(n, "evidence")));
    const char *peer = sx_str(n, "peer");
    if (peer[0] && !strchr(peer, '/')) {
        ASSERT_STR_EQ(sx_str(e, "destination.ip"), peer);
        ASSERT(sx_array_has(sx_get(e, "related.ip"), peer));
    } else {
        ASSERT_NULL(sx_get(e, "destination.ip")); /* a network is no address */
        ASSERT_STR_EQ(sx_str(e, "flowhunt.peer"), peer);
    }
    json_t *port = sx_get(n, "port");
    const char *proto = sx_str(n, "proto");
    if (json_is_integer(port) && strcmp(proto, "icmp") && strcmp(proto, "icmp6"))
        ASSERT_EQ(json_integer_value(sx_get(e, "destination.port")), json_integer_value(port));
    size_t i;
    json_t *t;
    json_array_foreach(sx_get(n, "techniques"), i, t)
    {
        const char *id = json_string_value(t);
        char parent[8];
        snprintf(parent, sizeof parent, "%.5s", id);
        ASSERT(sx_array_has(sx_get(e, "threat.technique.id"), parent));
        if (strchr(id, '.'))
            ASSERT(sx_array_has(sx_get(e, "threat.technique.subtechnique.id"), id));
        ASSERT_NOT_NULL(sx_tactic_of(id));
        ASSERT(sx_array_has(sx_get(e, "threat.tactic.id"), sx_tactic_of(id)));
    }
    ASSERT_EQ(json_array_size(sx_get(e, "threat.technique.id")),
              json_array_size(sx_get(e, "threat.technique.name")));
}

/* OCSF against the native report of the same run. */
static void sx_ocsf_agrees(json_t *o, json_t *n)
{
    int risk = sx_risk_index(sx_str(n, "risk_level"));
    ASSERT_STR_EQ(sx_str(o, "finding_info.uid"), sx_str(n, "hunt_id"));
    ASSERT_EQ(json_integer_value(sx_get(o, "severity_id")), risk + 1); /* 2 Low .. 5 Critical */
    ASSERT_EQ(json_integer_value(sx_get(o, "risk_level_id")), risk);   /* 1 Low .. 4 Critical */
    ASSERT_STR_EQ(sx_str(o, "confidence"), sx_str(n, "confidence"));
    ASSERT_STR_EQ(sx_str(o, "remediation.desc"), sx_str(n, "recommended_action"));
    ASSERT_STR_EQ(sx_str(o, "device.ip"), sx_str(n, "host"));
    ASSERT(json_equal(sx_get(o, "unmapped.compliance"), sx_get(n, "compliance")));
    json_t *ev = json_array_get(sx_get(o, "evidences"), 0);
    ASSERT_NOT_NULL(ev);
    ASSERT_STR_EQ(sx_str(ev, "src_endpoint.ip"), sx_str(n, "host"));
    ASSERT(json_equal(sx_get(ev, "data"), sx_get(n, "evidence")));
    const char *peer = sx_str(n, "peer");
    if (peer[0] && !strchr(peer, '/'))
        ASSERT_STR_EQ(sx_str(ev, "dst_endpoint.ip"), peer);
    else
        ASSERT_NULL(sx_get(ev, "dst_endpoint"));
    /* every host flowgen plants is internal and every peer of these hunts answers from
     * 10.0.0.0/16 (lateral) or beyond it (outbound) */
    json_int_t dir = json_integer_value(sx_get(ev, "connection_info.direction_id"));
    ASSERT(dir == 2 || dir == 3 || (dir == 0 && !peer[0]));
    json_t *attacks = sx_get(o, "finding_info.attacks");
    ASSERT_EQ(json_array_size(attacks), json_array_size(sx_get(n, "techniques")));
    size_t i;
    json_t *t;
    json_array_foreach(sx_get(n, "techniques"), i, t)
    {
        const char *id = json_string_value(t);
        json_t *a = json_array_get(attacks, i);
        const char *got =
            strchr(id, '.') ? sx_str(a, "sub_technique.uid") : sx_str(a, "technique.uid");
        ASSERT_STR_EQ(got, id);
        ASSERT_STR_EQ(sx_str(a, "tactic.uid"), sx_tactic_of(id));
    }
}

TEST_IMPL(siem_pipeline_schemas)
{
    sx_schemas_t x;
    sx_schemas_load(&x);
    const char *dir = sx_store();
    char *native = sx_hunt(dir, "json"), *e1 = sx_hunt(dir, "ecs"), *o1 = sx_hunt(dir, "ocsf");
    json_t *nl = sx_lines(native), *el = sx_lines(e1), *ol = sx_lines(o1);
    size_t n = json_array_size(nl);
    ASSERT_GE(n, 3);
    ASSERT_EQ(json_array_size(el), n);
    ASSERT_EQ(json_array_size(ol), n);
    int n_ecs = 0, hunts = 0, subs = 0, nets = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *nj = json_array_get(nl, i), *ej = json_array_get(el, i),
               *oj = json_array_get(ol, i);
        n_ecs += sx_ecs_check(x.fields, ej);
        sx_ecs_agrees(ej, nj);
        sx_ocsf_check(&x.ocsf, x.cls, oj, x.version);
        sx_ocsf_agrees(oj, nj);
        hunts |= !strcmp(sx_str(nj, "hunt"), "beacon")      ? 1
                 : !strcmp(sx_str(nj, "hunt"), "scan")      ? 2
                 : !strcmp(sx_str(nj, "hunt"), "dns-exfil") ? 4
                                                            : 0;
        subs += sx_get(ej, "threat.technique.subtechnique") != NULL;
        nets += strchr(sx_str(nj, "peer"), '/') != NULL;
    }
    ASSERT_EQ(hunts, 7); /* each core hunt's mapping was exercised */
    printf("# %zu findings: %d ECS fields and %d OCSF attributes checked against the schemas; "
           "%d with sub-techniques, %d with network peers\n",
           n, n_ecs, x.ocsf.n_checked, subs, nets);
    /* the same data and --now: the same bytes */
    char *e2 = sx_hunt(dir, "ecs"), *o2 = sx_hunt(dir, "ocsf");
    ASSERT_STR_EQ(e1, e2);
    ASSERT_STR_EQ(o1, o2);
    free(e2);
    free(o2);
    json_decref(nl);
    json_decref(el);
    json_decref(ol);
    free(native);
    free(e1);
    free(o1);
    sx_schemas_free(&x);
    return 0;
}

/* ---- hand-built findings: what flowgen's data does not carry ------------------------------ */

static void sx_finding(hunt_finding_t *f, const char *hunt, const char *host, const char *peer,
                       int port, uint8_t proto, int risk)
{
    memset(f, 0, sizeof *f);
    hev_init(&f->ev);
    snprintf(f->hunt, sizeof f->hunt, "%s", hunt);
    ASSERT_EQ(flow_addr_parse(&f->host, host), 0);
    snprintf(f->peer, sizeof f->peer, "%s", peer);
    f->port = port;
    f->proto = proto;
    f->first_seen = 1709251200000ull; /* 2024-03-01T00:00:00Z */
    f->last_seen = f->first_seen + 3600000;
    f->first_reported = f->last_seen + 60000;
    f->risk = risk;
    f->confidence = HUNT_CONF_MEDIUM;
    f->score = 0.8125;
    snprintf(f->summary, sizeof f->summary, "%s \"talks\" to %s\tevery 60 s", host, peer);
    snprintf(f->action, sizeof f->action, "Isolate %s and review its processes.", host);
    snprintf(f->fingerprint, sizeof f->fingerprint, "0123456789abcdef");
    snprintf(f->hunt_id, sizeof f->hunt_id, "TH-HUNTIN-20240301-0007");
    snprintf(f->filter, sizeof f->filter, "src host %s", host);
    hev_int(&f->ev, "connections", 61);
    hev_str(&f->ev, "note", "quoted \"value\"");
}

/* Prints f in the format into a string (malloc'd). */
static char *sx_print(void (*print)(FILE *, const hunt_finding_t *, const hr_opts_t *),
                      const hunt_finding_t *f, const hr_opts_t *o)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    ASSERT_NOT_NULL(m);
    print(m, f, o);
    ASSERT_EQ(fclose(m), 0);
    ASSERT(len > 0 && buf[len - 1] == '\n');
    ASSERT_NULL(memchr(buf, '\n', len - 1)); /* one object, one line */
    return buf;
}

static json_t *sx_parse(const char *s)
{
    json_error_t err;
    json_t *j = json_loads(s, 0, &err);
    if (!j)
        TEST_FAIL_AT("not JSON (%s): %s", err.text, s);
    return j;
}

/* f in both formats, parsed and checked against both schemas (the caller decrefs). */
static void sx_render(sx_schemas_t *x, const hunt_finding_t *f, const hr_opts_t *o, json_t **e,
                      json_t **oc)
{
    char *es = sx_print(hx_print_ecs, f, o), *os = sx_print(hx_print_ocsf, f, o);
    *e = sx_parse(es);
    *oc = sx_parse(os);
    free(es);
    free(os);
    sx_ecs_check(x->fields, *e);
    sx_ocsf_check(&x->ocsf, x->cls, *oc, x->version);
}

TEST_IMPL(siem_enriched_and_network_peers)
{
    sx_schemas_t x;
    sx_schemas_load(&x);
    hunt_config_t cfg;
    hc_defaults(&cfg);
    char err[200];
    ASSERT_EQ(hc_set_nets(&cfg.internal, &cfg.n_internal, "10.0.0.0/16", 0, err, sizeof err), 0);
    hr_opts_t o = {.dir = "/data", .now_ms = 1709280000000ull, .cfg = &cfg};

    /* 1. DNS tunnelling to an IPv6 resolver abroad, with every kind of context */
    hunt_finding_t f;
    sx_finding(&f, "dns-exfil", "10.0.0.7", "2001:db8::53", 53, 17, HUNT_RISK_HIGH);
    hunt_finding_tech(&f, "T1048.003");
    hunt_finding_tech(&f, "T1071.004");
    snprintf(f.host_name, sizeof f.host_name, "ws-7.corp.example");
    snprintf(f.user, sizeof f.user, "alice");
    f.is_new = 1;
    f.peer_geo = (hunt_geo_t){.has_geo = 1, .has_asn = 1, .country = "GB", .asn = 1221};
    snprintf(f.peer_geo.country_name, sizeof f.peer_geo.country_name, "United Kingdom");
    snprintf(f.peer_geo.city, sizeof f.peer_geo.city, "London");
    snprintf(f.peer_geo.as_org, sizeof f.peer_geo.as_org, "Telstra Pty Ltd");
    json_t *e, *oc;
    sx_render(&x, &f, &o, &e, &oc);
    ASSERT_STR_EQ(sx_str(e, "destination.ip"), "2001:db8::53");
    ASSERT_EQ(json_integer_value(sx_get(e, "destination.port")), 53);
    ASSERT_STR_EQ(sx_str(e, "destination.geo.country_iso_code"), "GB");
    ASSERT_STR_EQ(sx_str(e, "destination.geo.city_name"), "London");
    ASSERT_EQ(json_integer_value(sx_get(e, "destination.as.number")), 1221);
    ASSERT_STR_EQ(sx_str(e, "destination.as.organization.name"), "Telstra Pty Ltd");
    ASSERT_STR_EQ(sx_str(e, "user.name"), "alice");
    ASSERT_STR_EQ(sx_str(e, "host.name"), "ws-7.corp.example");
    ASSERT_STR_EQ(sx_str(e, "network.transport"), "udp");
    ASSERT_STR_EQ(sx_str(e, "network.iana_number"), "17");
    ASSERT_STR_EQ(sx_str(e, "network.direction"), "outbound");
    ASSERT_STR_EQ(sx_str(e, "event.reason"), f.summary); /* quotes and tab survive */
    ASSERT_STR_EQ(sx_str(e, "observer.version"), FH_VERSION);
    json_t *tid = sx_get(e, "threat.technique.id"),
           *sid = sx_get(e, "threat.technique.subtechnique.id");
    ASSERT_EQ(json_array_size(tid), 2);
    ASSERT_STR_EQ(json_string_value(json_array_get(tid, 0)), "T1048");
    ASSERT_STR_EQ(json_string_value(json_array_get(tid, 1)), "T1071");
    ASSERT_STR_EQ(json_string_value(json_array_get(sid, 0)), "T1048.003");
    ASSERT_STR_EQ(json_string_value(json_array_get(sid, 1)), "T1071.004");
    ASSERT_STR_EQ(
        json_string_value(json_array_get(sx_get(e, "threat.technique.subtechnique.name"), 1)),
        "DNS");
    ASSERT(sx_array_has(sx_get(e, "threat.tactic.id"), "TA0010"));
    ASSERT(sx_array_has(sx_get(e, "threat.tactic.id"), "TA0011"));
    ASSERT_EQ(json_integer_value(sx_get(e, "event.risk_score")), 73);
    ASSERT_EQ(json_integer_value(sx_get(e, "event.duration")), 3600000ll * 1000000);
    ASSERT_STR_EQ(sx_str(oc, "actor.user.name"), "alice");
    ASSERT_STR_EQ(sx_str(oc, "device.hostname"), "ws-7.corp.example");
    json_t *ev = json_array_get(sx_get(oc, "evidences"), 0);
    ASSERT_STR_EQ(sx_str(ev, "dst_endpoint.location.country"), "GB");
    ASSERT_STR_EQ(sx_str(ev, "dst_endpoint.location.city"), "London");
    ASSERT_EQ(json_integer_value(sx_get(ev, "dst_endpoint.autonomous_system.number")), 1221);
    ASSERT_EQ(json_integer_value(sx_get(ev, "connection_info.direction_id")), 2); /* Outbound */
    ASSERT_EQ(json_integer_value(sx_get(ev, "connection_info.protocol_num")), 17);
    ASSERT_EQ(json_integer_value(sx_get(oc, "activity_id")), 1); /* Create: a new finding */
    ASSERT_EQ(json_integer_value(sx_get(oc, "status_id")), 1);
    ASSERT(json_is_true(sx_get(oc, "is_alert")));
    json_t *a0 = json_array_get(sx_get(oc, "finding_info.attacks"), 0);
    ASSERT_STR_EQ(sx_str(a0, "technique.uid"), "T1048");
    ASSERT_STR_EQ(sx_str(a0, "sub_technique.uid"), "T1048.003");
    ASSERT_STR_EQ(sx_str(a0, "tactic.name"), "Exfiltration");
    ASSERT_EQ(json_integer_value(sx_get(oc, "time")), (json_int_t)f.first_reported);
    json_decref(e);
    json_decref(oc);
    hev_free(&f.ev);

    /* 2. an allow-listed ICMP beacon to a network, seen on an earlier run, lateral */
    sx_finding(&f, "beacon", "10.0.0.9", "10.0.5.0/24", 2048, 1, HUNT_RISK_LOW);
    hunt_finding_tech(&f, "T1095");
    f.suppressed = 1;
    snprintf(f.suppressed_reason, sizeof f.suppressed_reason, "monitoring pings");
    sx_render(&x, &f, &o, &e, &oc);
    ASSERT_NULL(sx_get(e, "destination")); /* no address, no port (ICMP), no context */
    ASSERT_STR_EQ(sx_str(e, "flowhunt.peer"), "10.0.5.0/24");
    ASSERT_EQ(json_integer_value(sx_get(e, "flowhunt.port")), 2048);
    ASSERT_NULL(sx_get(e, "user"));
    ASSERT_NULL(sx_get(e, "host.name"));
    ASSERT_STR_EQ(sx_str(e, "network.transport"), "icmp");
    ASSERT_STR_EQ(sx_str(e, "network.direction"), "internal");
    ASSERT_NULL(sx_get(e, "threat.technique.subtechnique"));
    ASSERT(json_is_true(sx_get(e, "flowhunt.suppressed")));
    ASSERT_EQ(json_integer_value(sx_get(oc, "activity_id")), 2); /* Update: reported before */
    ASSERT_EQ(json_integer_value(sx_get(oc, "type_uid")), 200402);
    ASSERT_EQ(json_integer_value(sx_get(oc, "status_id")), 3); /* Suppressed */
    ASSERT(json_is_false(sx_get(oc, "is_alert")));
    ASSERT_NULL(sx_get(oc, "actor"));
    ev = json_array_get(sx_get(oc, "evidences"), 0);
    ASSERT_NULL(sx_get(ev, "dst_endpoint"));
    ASSERT_EQ(json_integer_value(sx_get(ev, "connection_info.direction_id")), 3); /* Lateral */
    ASSERT_STR_EQ(sx_str(oc, "unmapped.peer"), "10.0.5.0/24");
    json_decref(e);
    json_decref(oc);
    hev_free(&f.ev);

    /* 3. a listed address that connected in to a server: source and destination turn round */
    sx_finding(&f, "intel", "10.0.2.20", "198.51.100.77", 22, 6, HUNT_RISK_CRITICAL);
    hunt_finding_tech(&f, "T1071");
    f.peer_originated = 1;
    f.peer_geo = (hunt_geo_t){.has_geo = 1, .country = "NL"};
    sx_render(&x, &f, &o, &e, &oc);
    ASSERT_STR_EQ(sx_str(e, "source.ip"), "198.51.100.77");
    ASSERT_STR_EQ(sx_str(e, "source.geo.country_iso_code"), "NL");
    ASSERT_STR_EQ(sx_str(e, "destination.ip"), "10.0.2.20");
    ASSERT_EQ(json_integer_value(sx_get(e, "destination.port")), 22);
    ASSERT_NULL(sx_get(e, "destination.geo"));
    ASSERT(sx_array_has(sx_get(e, "host.ip"), "10.0.2.20"));
    ASSERT_STR_EQ(sx_str(e, "network.direction"), "inbound");
    ev = json_array_get(sx_get(oc, "evidences"), 0);
    ASSERT_STR_EQ(sx_str(ev, "src_endpoint.ip"), "198.51.100.77");
    ASSERT_STR_EQ(sx_str(ev, "src_endpoint.location.country"), "NL");
    ASSERT_STR_EQ(sx_str(ev, "dst_endpoint.ip"), "10.0.2.20");
    ASSERT_EQ(json_integer_value(sx_get(ev, "dst_endpoint.port")), 22);
    ASSERT_EQ(json_integer_value(sx_get(ev, "connection_info.direction_id")), 1); /* Inbound */
    ASSERT_STR_EQ(sx_str(oc, "device.ip"), "10.0.2.20");
    ASSERT_EQ(json_integer_value(sx_get(oc, "finding_info.analytic.type_id")), 9);
    json_decref(e);
    json_decref(oc);
    hev_free(&f.ev);

    /* 3b. a sequential scan whose dark targets took several protocols: none in common, no
     * protocol stated (it was 0, IANA's HOPOPT, in every format) */
    sx_finding(&f, "scan", "10.0.0.30", "10.0.7.0/24", -1, 0, HUNT_RISK_HIGH);
    hunt_finding_tech(&f, "T1046");
    sx_render(&x, &f, &o, &e, &oc);
    ASSERT_NULL(sx_get(e, "network.iana_number"));
    ASSERT_NULL(sx_get(e, "network.transport"));
    ev = json_array_get(sx_get(oc, "evidences"), 0);
    ASSERT_NULL(sx_get(ev, "connection_info.protocol_num"));
    json_decref(e);
    json_decref(oc);
    /* the CSV: the host's name beside it (the JSON's host_name), UTF-8 as the JSON is, and a
     * user name that a spreadsheet would run as a formula quoted and made text */
    snprintf(f.host_name, sizeof f.host_name, "ws-30");
    snprintf(f.user, sizeof f.user, "=2+5 caf\xe9");
    /* a summary snprintf cut inside a character: cut before it, not a U+FFFD no input held */
    snprintf(f.summary, sizeof f.summary, "sweep of caf\xc3");
    hunt_findings_t l = {0};
    hunt_finding_t *lf = hunt_finding_new(&l, "scan");
    hev_free(&lf->ev);
    *lf = f; /* the list owns its evidence now */
    for (int fmt = 0; fmt < 2; fmt++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *m = open_memstream(&buf, &len);
        ASSERT_NOT_NULL(m);
        hr_opts_t ro = o;
        ro.format = fmt ? HR_FMT_CSV : HR_FMT_JSON;
        ro.write_state = 0;
        ASSERT(hr_report(&l, &ro, m) >= 0);
        ASSERT_EQ(fclose(m), 0);
        if (fmt)
            ASSERT_NOT_NULL(strstr(buf, ",10.0.0.30,ws-30,\"'=2+5 caf\xef\xbf\xbd\","
                                        "10.0.7.0/24,,,2024-03-01T00:00:00")); /* port, proto */
        else {
            ASSERT_NOT_NULL(strstr(buf, "\"port\":null,\"proto\":null,"));
            ASSERT_NOT_NULL(strstr(buf, "\"summary\":\"sweep of caf\","));
        }
        free(buf);
    }
    hunt_findings_free(&l);

    /* 4. every hunt says how it decides (a hunt added without its analytic type says Other) */
    for (int i = 0; i < hunt_n_all; i++) {
        sx_finding(&f, hunt_all[i]->name, "10.0.2.21", "198.51.100.78", 443, 6, HUNT_RISK_MEDIUM);
        hunt_finding_tech(&f, "T1071");
        sx_render(&x, &f, &o, &e, &oc);
        ASSERT_STR_EQ(sx_str(oc, "finding_info.analytic.name"), hunt_all[i]->name);
        ASSERT(json_integer_value(sx_get(oc, "finding_info.analytic.type_id")) != 99);
        json_decref(e);
        json_decref(oc);
        hev_free(&f.ev);
    }
    printf("# hand-built findings: %d OCSF attributes checked\n", x.ocsf.n_checked);
    hc_free(&cfg);
    sx_schemas_free(&x);
    return 0;
}

/* ---- the validators must reject what the schemas forbid --------------------------------- */

TEST_IMPL(siem_validators_reject)
{
    sx_schemas_t x;
    sx_schemas_load(&x);
    json_t *none = json_array();
    x.ocsf.profiles = none;
    enum { ECS, OCSF };
    static const struct {
        int schema;
        const char *doc, *why;
    } bad[] = {
        {ECS, "{\"event\":{\"kind\":\"finding\"}}", "not an allowed value"},
        {ECS, "{\"event\":{\"severity\":\"high\"}}", "type long"},
        {ECS, "{\"source\":{\"ip\":\"10.0.0.0/24\"}}", "type ip"},
        {ECS, "{\"event\":{\"start\":\"yesterday\"}}", "type date"},
        {ECS, "{\"event\":{\"category\":\"network\"}}", "must be an array"},
        {ECS, "{\"threat\":{\"confidence\":\"High\"}}", "threat.confidence is not an ECS field"},
        {ECS, "{\"destination\":{\"port\":[]}}", "empty array"},
        {OCSF, "{\"activity_id\":7}", "activity_id = 7 is not a value of its enum"},
        {OCSF, "{\"class_uid\":2004}", "required attribute"},
        {OCSF, "{\"class_uid\":2001}", "class_uid = 2001 is not a value of its enum"},
        {OCSF, "{\"class_uid\":2004,\"class_name\":\"Security Finding\"}",
         "means \"Detection Finding\""},
        {OCSF, "{\"finding_info\":{\"title\":\"x\"}}", "finding_info: required attribute uid"},
        {OCSF, "{\"finding_info\":{\"uid\":\"x\",\"colour\":1}}", "colour is not an attribute"},
        {OCSF, "{\"evidences\":{\"data\":{}}}", "evidences must be an array"},
        {OCSF, "{\"evidences\":[{\"dst_endpoint\":{\"port\":80}}]}", "at_least_one"},
        {OCSF, "{\"evidences\":[{\"src_endpoint\":{\"ip\":\"10.0.0.0/8\"}}]}", "valid ip_t"},
        {OCSF, "{\"evidences\":[{\"dst_endpoint\":{\"ip\":\"::1\",\"port\":70000}}]}",
         "valid port_t"},
        {OCSF, "{\"severity_id\":4,\"severity\":\"Low\"}", "means \"High\""},
        {OCSF, "{\"time\":\"2024-03-01\"}", "valid timestamp_t"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = sx_parse(bad[i].doc);
        char why[1024] = "";
        int n = 0;
        int rc = bad[i].schema == OCSF ? sx_ocsf_obj(&x.ocsf, x.cls, j, "", why, sizeof why)
                                       : sx_ecs_walk(x.fields, "", j, &n, why, sizeof why);
        ASSERT_EQ(rc, -1);
        if (!strstr(why, bad[i].why))
            TEST_FAIL_AT("%s: rejected for \"%s\", not \"%s\"", bad[i].doc, why, bad[i].why);
        json_decref(j);
    }
    /* and pass what they allow: the custom namespace, a free-form object, arrays of one */
    json_t *ok = sx_parse("{\"flowhunt\":{\"anything\":1},\"labels\":{\"a\":\"b\"},"
                          "\"event\":{\"category\":[\"network\"],\"risk_score\":47}}");
    char why[1024] = "";
    int n = 0;
    ASSERT_EQ(sx_ecs_walk(x.fields, "", ok, &n, why, sizeof why), 0);
    ASSERT_EQ(n, 3);
    json_decref(ok);
    json_decref(none);
    sx_schemas_free(&x);
    return 0;
}

/* ---- compliance controls ---------------------------------------------------------------- */

static int sx_n_controls(const hunt_finding_t *f, int *incident)
{
    char buf[1024], text[512];
    hx_controls_json(f, buf, sizeof buf);
    hx_controls_text(f, text, sizeof text);
    json_t *j = sx_parse(buf);
    ASSERT(json_is_array(j));
    int n = (int)json_array_size(j);
    size_t i;
    json_t *c;
    json_array_foreach(j, i, c)
    {
        char pair[64];
        snprintf(pair, sizeof pair, "%s %s", sx_str(c, "framework"), sx_str(c, "control"));
        ASSERT_NOT_NULL(strstr(text, pair)); /* the text names the same controls */
    }
    *incident = strstr(text, "SOC 2 CC7.3") && strstr(text, "ISO 27001 A.16.1") &&
                strstr(text, "NIST 800-53 IR-4");
    ASSERT_NOT_NULL(strstr(text, "SOC 2 CC7.2")); /* every finding is a detection */
    ASSERT_NOT_NULL(strstr(text, "NIST CSF DE.CM"));
    json_decref(j);
    return n;
}

TEST_IMPL(siem_compliance_controls)
{
    hunt_finding_t f;
    int inc;
    sx_finding(&f, "beacon", "10.0.0.7", "203.0.113.9", 443, 6, HUNT_RISK_HIGH);
    hunt_finding_tech(&f, "T1071");
    ASSERT_EQ(sx_n_controls(&f, &inc), 8); /* C2 at High: an incident */
    ASSERT_EQ(inc, 1);
    f.risk = HUNT_RISK_MEDIUM;
    ASSERT_EQ(sx_n_controls(&f, &inc), 5); /* a detection to review */
    ASSERT_EQ(inc, 0);
    f.risk = HUNT_RISK_CRITICAL;
    f.suppressed = 1;
    ASSERT_EQ(sx_n_controls(&f, &inc), 5); /* allow-listed: no incident */
    hev_free(&f.ev);

    sx_finding(&f, "scan", "10.0.0.7", "10.0.3.0/24", 445, 6, HUNT_RISK_HIGH);
    hunt_finding_tech(&f, "T1046");
    ASSERT_EQ(sx_n_controls(&f, &inc), 5); /* Discovery at High: reconnaissance */
    f.risk = HUNT_RISK_CRITICAL;
    ASSERT_EQ(sx_n_controls(&f, &inc), 8); /* Discovery at Critical: lateral movement */
    hunt_finding_t g = f;
    hev_init(&g.ev); /* f keeps (and frees) the evidence */
    g.n_tech = 0;
    hunt_finding_tech(&g, "T1496");
    g.risk = HUNT_RISK_HIGH;
    ASSERT_EQ(sx_n_controls(&g, &inc), 8); /* Impact at High */
    hev_free(&f.ev);

    /* a buffer too small is cut, never overrun, and stays a string */
    char small[24];
    memset(small, 'x', sizeof small);
    hx_controls_json(&g, small, 16);
    ASSERT_EQ(strlen(small), 15);
    ASSERT_EQ(small[16], 'x');
    hx_controls_text(&g, small, 10);
    ASSERT_EQ(strlen(small), 9);
    return 0;
}
