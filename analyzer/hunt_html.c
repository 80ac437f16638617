/* hunt_html.c: the HTML report (`flowhunt hunt --format html`): one self-contained page.
 *
 * An analyst looks at this page rather than reads it, often on a machine cut off from the
 * network (an incident laptop, an air-gapped SOC) and sometimes long after the run, so it
 * depends on nothing: the CSS is inline, the pictures are SVG drawn here from the series the
 * hunts attached (hunt_series_t), there is no script at all, and a Content-Security-Policy
 * forbids the browser from fetching anything should a value from the data ever look like a
 * reference. Every string that came from flows, feeds, the allow-list or the configuration is
 * HTML-escaped on the way out (hh_esc), in text and in attributes alike.
 *
 * The page: a header (data directory, window, what preparation did, counts per risk level), an
 * index of the findings, then the findings grouped by risk (Critical, High, Medium, Low) in the
 * report's order, each with its Hunt ID as the element id (so `report.html#TH-HUNTIN-...`
 * links to it), its facts, its pictures and its evidence as a table; findings suppressed by
 * the allow-list come last, in their own section, each marked. The same findings, state and
 * --now give the same bytes: nothing here reads a clock or depends on addresses in memory.
 *
 * Module prefix: hh_.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hunt.h"
#include "timearg.h"
#include "utf8.h"

/* ---- escaping ------------------------------------------------------------------------------- */

/* s[0..len) as HTML text or attribute value: the five special characters become entities; C0
 * controls other than tab and newline (not allowed in HTML) become U+FFFD. */
/* Whether the UTF-8 sequence p[0..n) is a character HTML does not allow in text: a C1
 * control (U+0080-U+009F) or a noncharacter (U+FDD0-U+FDEF, U+xFFFE, U+xFFFF). The C0
 * controls are caught byte by byte. */
static int hh_not_in_html(const unsigned char *p, size_t n)
{
    uint32_t cp = n == 2 ? (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f)
                  : n == 3
                      ? (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f)
                  : n == 4 ? (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
                                 (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f)
                           : 0;
    return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe;
}

static void hh_esc_n(FILE *out, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '&':
            fputs("&amp;", out);
            break;
        case '<':
            fputs("&lt;", out);
            break;
        case '>':
            fputs("&gt;", out);
            break;
        case '"':
            fputs("&quot;", out);
            break;
        case '\'':
            fputs("&#39;", out);
            break;
        default:
            if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) {
                fputs("&#xfffd;", out);
            } else if (c >= 0x80) {
                /* the page says UTF-8: text from outside in another encoding (a Latin-1
                 * feed description) becomes U+FFFD byte by byte, as in the JSON report */
                size_t n = utf8_seq_len((const unsigned char *)s + i);
                if (n == 0 || n > len - i || hh_not_in_html((const unsigned char *)s + i, n)) {
                    fputs("&#xfffd;", out);
                    i += n > 1 && n <= len - i ? n - 1 : 0;
                } else {
                    fwrite(s + i, 1, n, out);
                    i += n - 1;
                }
            } else {
                fputc(c, out);
            }
        }
    }
}

static void hh_esc(FILE *out, const char *s)
{
    hh_esc_n(out, s, strlen(s));
}

/* An address (or network) for a table cell: escaped, with a break opportunity after each ':'
 * so that an IPv6 address may wrap at its groups while an IPv4 one never splits. */
static void hh_esc_addr(FILE *out, const char *s)
{
    for (const char *c; (c = strchr(s, ':')) != NULL; s = c + 1) {
        hh_esc_n(out, s, (size_t)(c - s) + 1);
        fputs("<wbr>", out);
    }
    hh_esc(out, s);
}

/* ---- numbers and times ---------------------------------------------------------------------- */

/* A compact number for an axis or a tooltip: 1500, 15k, 2.5M. */
static void hh_num(char *b, size_t cap, double v)
{
    static const struct {
        double scale;
        const char *suffix;
    } si[] = {{1e15, "P"}, {1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e4, "k"}};
    double a = fabs(v);
    for (size_t i = 0; i < sizeof si / sizeof si[0]; i++)
        if (a >= si[i].scale) {
            double d = si[i].scale == 1e4 ? 1e3 : si[i].scale;
            snprintf(b, cap, "%.3g%s", v / d, si[i].suffix);
            return;
        }
    snprintf(b, cap, "%.4g", v);
}

#define HH_TIME_UNIT "ms since epoch"

/* A time tick label: the parts of the ISO form the step needs. */
static void hh_time_label(char *b, size_t cap, double ms, double step_ms, int multi_day)
{
    char iso[32];
    timearg_format_iso(ms < 0 ? 0 : (uint64_t)ms, iso); /* 2024-03-01T12:34:56.000Z */
    if (step_ms >= 86400000.0)
        snprintf(b, cap, "%.5s", iso + 5); /* 03-01 */
    else if (step_ms >= 60000.0 && multi_day)
        snprintf(b, cap, "%.5s %.5s", iso + 5, iso + 11);
    else if (step_ms >= 60000.0)
        snprintf(b, cap, "%.5s", iso + 11); /* 12:34 */
    else
        snprintf(b, cap, "%.8s", iso + 11); /* 12:34:56 */
}

/* A round step near range/target: 1, 2 or 5 times a power of ten. */
static double hh_nice(double range, int target)
{
    double raw = range / target;
    if (!(raw > 0))
        return 1;
    double p = pow(10, floor(log10(raw))), f = raw / p;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

/* A round time step (1 s .. 30 d) giving at most about `target` ticks over range_ms. */
static double hh_time_step(double range_ms, int target)
{
    static const double steps[] = {1e3,    5e3,    1e4,     3e4,     6e4,    3e5,
                                   6e5,    1.8e6,  3.6e6,   7.2e6,   1.08e7, 2.16e7,
                                   4.32e7, 8.64e7, 1.728e8, 6.048e8, 2.592e9};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (range_ms / steps[i] <= target)
            return steps[i];
    return hh_nice(range_ms, target);
}

/* ---- charts --------------------------------------------------------------------------------- */

/* Geometry of every chart (SVG user units). */
enum { HH_W = 560, HH_H = 230, HH_ML = 64, HH_MR = 18, HH_MT = 16, HH_MB = 48 };

typedef struct hh_axis {
    double lo, hi;
    int time; /* the values are ms since the epoch */
    int log;  /* y: a logarithmic scale, lo and hi powers of ten */
} hh_axis_t;

static double hh_px_x(const hh_axis_t *a, double v)
{
    return HH_ML + (v - a->lo) / (a->hi - a->lo) * (HH_W - HH_ML - HH_MR);
}

static double hh_px_y(const hh_axis_t *a, double v)
{
    double f = (v - a->lo) / (a->hi - a->lo);
    if (a->log)
        f = v <= a->lo ? 0 : (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo));
    return HH_H - HH_MB - f * (HH_H - HH_MT - HH_MB);
}

/* The range of the finite values of v[0..n) (0..1 when there are none). */
static void hh_range(const double *v, size_t n, double *lo, double *hi)
{
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            continue;
        if (!any || v[i] < *lo)
            *lo = v[i];
        if (!any || v[i] > *hi)
            *hi = v[i];
        any = 1;
    }
    if (!any)
        *lo = 0, *hi = 1;
}

static void hh_label(char *b, size_t cap, const hh_axis_t *a, double v, double step)
{
    if (a->time) {
        char lo[32], hi[32];
        timearg_format_iso((uint64_t)(a->lo < 0 ? 0 : a->lo), lo);
        timearg_format_iso((uint64_t)(a->hi < 0 ? 0 : a->hi), hi);
        hh_time_label(b, cap, v, step, strncmp(lo, hi, 10) != 0);
    } else {
        hh_num(b, cap, v);
    }
}

static void hh_y_tick(FILE *out, const hh_axis_t *ya, double t)
{
    char b[32];
    double y = hh_px_y(ya, t);
    hh_num(b, sizeof b, t);
    fprintf(out,
            "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
            "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
            HH_ML, y, HH_W - HH_MR, y, HH_ML - 6, y + 4, b);
}

/* The y axis: from 0 (or below, for negative values) up to a round top, with grid lines. Bars
 * whose positive values span three decades or more get a logarithmic scale, so that one
 * outlier (the host that is the finding) does not flatten the population it stands out of. */
static void hh_y_axis(FILE *out, hh_axis_t *ya, const hunt_series_t *s)
{
    double lo, hi, min_pos = 0;
    hh_range(s->y, s->n, &lo, &hi);
    for (size_t i = 0; i < s->n; i++)
        if (isfinite(s->y[i]) && s->y[i] > 0 && (min_pos == 0 || s->y[i] < min_pos))
            min_pos = s->y[i];
    memset(ya, 0, sizeof *ya);
    if (s->kind == HUNT_SERIES_BARS && lo >= 0 && min_pos > 0 && hi / min_pos >= 1000) {
        ya->log = 1;
        int d0 = (int)ceil(log10(min_pos)) - 1, d1 = (int)ceil(log10(hi));
        ya->lo = pow(10, d0);
        ya->hi = pow(10, d1);
        for (int d = d0; d <= d1; d += (d1 - d0 + 5) / 6)
            hh_y_tick(out, ya, pow(10, d));
        return;
    }
    if (lo > 0)
        lo = 0;
    if (hi <= lo)
        hi = lo + 1;
    double step = hh_nice(hi - lo, 4);
    ya->lo = floor(lo / step) * step;
    ya->hi = ceil(hi / step) * step;
    for (int i = 0; ya->lo + i * step <= ya->hi + step / 2; i++)
        hh_y_tick(out, ya, ya->lo + i * step);
}

/* Axis lines and the two captions (units, from the data: escaped). */
static void hh_frame(FILE *out, const hunt_series_t *s, const hh_axis_t *xa, const hh_axis_t *ya)
{
    fprintf(out,
            "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
            "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n",
            HH_ML, HH_H - HH_MB, HH_W - HH_MR, HH_H - HH_MB, HH_ML, HH_MT, HH_ML, HH_H - HH_MB);
    fprintf(out, "<text class=\"cap\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">",
            (HH_ML + HH_W - HH_MR) / 2, HH_H - 8);
    if (xa->time) {
        char iso[32];
        timearg_format_iso((uint64_t)(xa->lo < 0 ? 0 : xa->lo), iso);
        fprintf(out, "time (UTC) from %.10s %.5s", iso, iso + 11);
    } else {
        hh_esc(out, s->x_unit);
    }
    fprintf(out,
            "</text>\n<text class=\"cap\" x=\"14\" y=\"%d\" text-anchor=\"middle\" "
            "transform=\"rotate(-90 14 %d)\">",
            (HH_MT + HH_H - HH_MB) / 2, (HH_MT + HH_H - HH_MB) / 2);
    hh_esc(out, s->y_unit);
    fputs(ya->log ? " (log scale)</text>\n" : "</text>\n", out);
}

static void hh_x_tick(FILE *out, double px, const char *label)
{
    fprintf(out,
            "<line class=\"axis\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
            "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
            px, HH_H - HH_MB, px, HH_H - HH_MB + 5, px, HH_H - HH_MB + 18, label);
}

/* A tooltip: "x: y" with the units. */
static void hh_tip(FILE *out, const hunt_series_t *s, const hh_axis_t *xa, double x, double y)
{
    char xb[48], yb[32];
    if (xa->time) {
        char iso[32];
        timearg_format_iso((uint64_t)(x < 0 ? 0 : x), iso);
        snprintf(xb, sizeof xb, "%s", iso);
    } else {
        hh_num(xb, sizeof xb, x);
    }
    hh_num(yb, sizeof yb, y);
    fputs("<title>", out);
    hh_esc(out, xb);
    if (!xa->time) {
        fputc(' ', out);
        hh_esc(out, s->x_unit);
    }
    fprintf(out, ": %s ", yb);
    hh_esc(out, s->y_unit);
    fputs("</title>", out);
}

/* Bars in index order, equally wide; x[i] is bar i's lower edge, labelled at up to six edges. */
static void hh_bars(FILE *out, const hunt_series_t *s, const hh_axis_t *ya, hh_axis_t *xa)
{
    size_t n = s->n;
    double plot_w = HH_W - HH_ML - HH_MR, bw = plot_w / (double)n;
    double last_w = n >= 2 ? s->x[n - 1] - s->x[n - 2] : 1;
    xa->lo = s->x[0];
    xa->hi = s->x_end > s->x[n - 1] ? s->x_end : s->x[n - 1] + last_w;
    xa->time = strcmp(s->x_unit, HH_TIME_UNIT) == 0;
    double base = hh_px_y(ya, ya->lo < 0 && ya->hi > 0 ? 0 : ya->lo);
    for (size_t i = 0; i < n; i++) {
        double v = isfinite(s->y[i]) ? s->y[i] : 0, y = hh_px_y(ya, v);
        double top = y < base ? y : base, h = fabs(base - y);
        int marked = s->mark == i + 1;
        fprintf(out, "<rect class=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\">",
                marked ? "bar mark" : "bar", HH_ML + bw * (double)i + (bw > 3 ? 0.5 : 0), top,
                bw > 3 ? bw - 1 : bw, h < 0.5 && v != 0 ? 0.5 : h);
        hh_tip(out, s, xa, s->x[i], v);
        fputs("</rect>\n", out);
        if (marked)
            fprintf(out,
                    "<text class=\"marklabel\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">%s"
                    "</text>\n",
                    HH_ML + bw * ((double)i + 0.5), top - 4,
                    i * 4 < n       ? "start"
                    : i * 4 > 3 * n ? "end"
                                    : "middle",
                    s->mark_label[0] ? s->mark_label : "this host"); /* ours: nothing to escape */
    }
    size_t k = n < 5 ? n : 5;
    for (size_t j = 0; j <= k; j++) {
        size_t i = j * n / k;
        double edge = i < n ? s->x[i] : xa->hi;
        char b[48];
        hh_label(b, sizeof b, xa, edge, xa->time ? (xa->hi - xa->lo) / (double)k : 0);
        hh_x_tick(out, HH_ML + bw * (double)i, b);
    }
}

/* Points over a numeric or time x axis with round ticks. */
static void hh_points(FILE *out, const hunt_series_t *s, const hh_axis_t *ya, hh_axis_t *xa)
{
    hh_range(s->x, s->n, &xa->lo, &xa->hi);
    xa->time = strcmp(s->x_unit, HH_TIME_UNIT) == 0;
    if (xa->hi <= xa->lo) { /* one point: centre it */
        double pad = xa->time ? 30000 : 1;
        xa->lo -= pad;
        xa->hi += pad;
    }
    double step = xa->time ? hh_time_step(xa->hi - xa->lo, 6) : hh_nice(xa->hi - xa->lo, 6);
    double first = ceil(xa->lo / step) * step;
    for (int i = 0; first + i * step <= xa->hi; i++) {
        double t = first + i * step;
        char b[48];
        hh_label(b, sizeof b, xa, t, step);
        hh_x_tick(out, hh_px_x(xa, t), b);
    }
    for (size_t i = 0; i < s->n; i++) {
        if (!isfinite(s->x[i]) || !isfinite(s->y[i]))
            continue;
        fprintf(out, "<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\">",
                hh_px_x(xa, s->x[i]), hh_px_y(ya, s->y[i]));
        hh_tip(out, s, xa, s->x[i], s->y[i]);
        fputs("</circle>\n", out);
    }
}

static void hh_chart(FILE *out, const hunt_series_t *s)
{
    fputs("<figure class=\"chart\"><figcaption>", out);
    hh_esc(out, s->title);
    fprintf(out,
            "</figcaption>\n<svg viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
            "role=\"img\" aria-label=\"",
            HH_W, HH_H, HH_W, HH_H);
    hh_esc(out, s->title);
    fputs("\">\n", out);
    hh_axis_t ya, xa = {0, 1, 0, 0};
    if (s->n == 0) {
        fprintf(out,
                "<text class=\"cap\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">no data</text>\n",
                HH_W / 2, HH_H / 2);
    } else {
        hh_y_axis(out, &ya, s);
        if (s->kind == HUNT_SERIES_BARS)
            hh_bars(out, s, &ya, &xa);
        else
            hh_points(out, s, &ya, &xa);
        hh_frame(out, s, &xa, &ya);
    }
    fputs("</svg></figure>\n", out);
}

/* ---- one finding ---------------------------------------------------------------------------- */

/* The level a finding is filed under (a risk outside the scale counts as None). */
static int hh_level(const hunt_finding_t *f)
{
    return f->risk >= HUNT_RISK_NONE && f->risk <= HUNT_RISK_CRITICAL ? f->risk : HUNT_RISK_NONE;
}

static const char *hh_risk_class(int risk)
{
    static const char *const c[] = {"none", "low", "medium", "high", "critical"};
    return risk >= 0 && risk <= 4 ? c[risk] : "none";
}

/* A row of the facts table: the name is ours, the value is escaped. */
static void hh_row(FILE *out, const char *name, const char *val)
{
    fprintf(out, "<tr><th>%s</th><td>", name);
    hh_esc(out, val);
    fputs("</td></tr>\n", out);
}

/* Evidence text lines "  name: value" as rows of a two-column table; a line that does not
 * have that shape continues the previous value (*open: a row is open). */
static void hh_evidence_rows(FILE *out, const char *p, int *open)
{
    while (*p) {
        size_t len = strcspn(p, "\n");
        const char *line = p, *sep = NULL;
        if (len > 2 && line[0] == ' ' && line[1] == ' ' && line[2] != ' ') {
            for (const char *q = line + 2; q + 1 < line + len; q++)
                if (q[0] == ':' && q[1] == ' ') {
                    sep = q;
                    break;
                }
        }
        if (sep) {
            if (*open)
                fputs("</td></tr>\n", out);
            fputs("<tr><th>", out);
            hh_esc_n(out, line + 2, (size_t)(sep - line - 2));
            fputs("</th><td>", out);
            hh_esc_n(out, sep + 2, len - (size_t)(sep + 2 - line));
            *open = 1;
        } else {
            if (!*open)
                fputs("<tr><th></th><td>", out);
            else
                fputs("<br>", out);
            hh_esc_n(out, line, len);
            *open = 1;
        }
        p += len;
        if (*p == '\n')
            p++;
    }
}

/* The evidence as a two-column table: what was folded into the finding (or NULL), then its
 * own. */
static void hh_evidence(FILE *out, const hunt_finding_t *f, const char *folded)
{
    fputs("<table class=\"evidence\">\n<thead><tr><th>Evidence</th><th>Value</th></tr></thead>"
          "\n<tbody>\n",
          out);
    int open = 0;
    if (folded)
        hh_evidence_rows(out, folded, &open);
    hh_evidence_rows(out, f->ev.text ? f->ev.text : "", &open);
    if (open)
        fputs("</td></tr>\n", out);
    fputs("</tbody></table>\n", out);
    fputs("<details><summary>Evidence as JSON</summary><pre class=\"json\">{", out);
    hh_esc(out, f->ev.json ? f->ev.json : "");
    fputs("}</pre></details>\n", out);
}

/* One finding; id_note and folded (or NULL) say what a folded block stands for. */
static void hh_finding(FILE *out, const hunt_finding_t *f, const hr_opts_t *o,
                       const char *id_note, const char *folded)
{
    const char *rc = hh_risk_class(f->risk);
    char host[FLOW_ADDR_STRLEN], buf[1400], a[32], b[32], pb[8];
    fprintf(out, "<article class=\"finding risk-%s%s\" id=\"", rc,
            f->suppressed ? " suppressed" : "");
    hh_esc(out, f->hunt_id);
    fprintf(out, "\">\n<h3><span class=\"badge risk-%s\">%s</span> <a class=\"hid\" href=\"#", rc,
            hr_risk_name(f->risk));
    hh_esc(out, f->hunt_id);
    fputs("\">", out);
    hh_esc(out, f->hunt_id);
    fputs("</a>", out);
    if (id_note)
        hh_esc(out, id_note);
    if (f->suppressed)
        fputs(" <span class=\"badge supp\">SUPPRESSED</span>", out);
    if (f->is_new)
        fputs(" <span class=\"badge new\">new</span>", out);
    fputs("</h3>\n", out);
    if (f->suppressed) {
        fputs("<p class=\"suppnote\">Suppressed, not counted: ", out);
        hh_esc(out, f->suppressed_reason);
        fputs("</p>\n", out);
    }
    fputs("<p class=\"summary\">", out);
    hh_esc(out, f->summary);
    fputs("</p>\n<table class=\"facts\">\n", out);

    fputs("<tr><th>Technique</th><td>", out);
    for (int i = 0; i < f->n_tech; i++) {
        fputs(i ? "<br>" : "", out);
        fputs(i ? "also " : "<b>", out);
        hh_esc(out, f->tech[i]);
        fputc(' ', out);
        hh_esc(out, hr_tech_name(f->tech[i]));
        fputs(i ? "" : "</b>", out);
    }
    fputs("</td></tr>\n", out);
    hh_row(out, "Hunt", f->hunt);
    flow_addr_format(&f->host, host);
    if (f->host_name[0])
        snprintf(buf, sizeof buf, "%s (%s)", host, f->host_name);
    else
        snprintf(buf, sizeof buf, "%s", host);
    hh_row(out, "Host", buf);
    hh_row(out, "User", f->user[0] ? f->user : "unknown");
    if (f->port >= 0)
        snprintf(buf, sizeof buf, "%s port %d/%s", f->peer[0] ? f->peer : "(many)", f->port,
                 hr_proto_name(f->proto, pb));
    else
        snprintf(buf, sizeof buf, "%s %s", f->peer[0] ? f->peer : "(many)",
                 hr_proto_name(f->proto, pb));
    hh_row(out, "Peer", buf);
    if (f->peer_geo.has_geo || f->peer_geo.has_asn) {
        size_t l = 0;
        buf[0] = '\0';
        if (f->peer_geo.has_geo)
            l += (size_t)snprintf(buf, sizeof buf, "%s%s%s (%s)", f->peer_geo.city,
                                  f->peer_geo.city[0] ? ", " : "", f->peer_geo.country_name,
                                  f->peer_geo.country);
        if (f->peer_geo.has_asn && l < sizeof buf)
            snprintf(buf + l, sizeof buf - l, "%sAS%" PRIu32 "%s%s", l ? "; " : "", f->peer_geo.asn,
                     f->peer_geo.as_org[0] ? " " : "", f->peer_geo.as_org);
        hh_row(out, "Peer context", buf);
    }
    timearg_format_iso(f->first_seen, a);
    timearg_format_iso(f->last_seen, b);
    snprintf(buf, sizeof buf, "%s to %s", a, b);
    hh_row(out, "Seen", buf);
    fprintf(out,
            "<tr><th>Risk</th><td><span class=\"badge risk-%s\">%s</span> (score %.3f)</td>"
            "</tr>\n",
            rc, hr_risk_name(f->risk), f->score);
    hh_row(out, "Confidence", hr_conf_name(f->confidence));
    fputs("<tr><th>Recommended action</th><td class=\"action\">", out);
    hh_esc(out, f->action);
    fputs("</td></tr>\n", out);
    timearg_format_iso(f->first_reported, a);
    snprintf(buf, sizeof buf, "%s (%s, first reported %s%s)", f->fingerprint,
             f->is_new ? "new" : "seen before", a,
             f->id_unrecorded ? "; Hunt ID not recorded: --no-state" : "");
    hh_row(out, "Fingerprint", buf);
    hx_controls_text(f, buf, sizeof buf);
    hh_row(out, "Compliance", buf);
    hr_cat_cmd(f, o, buf, sizeof buf);
    fputs("<tr><th>Flows</th><td><code>", out);
    hh_esc(out, buf);
    fputs("</code></td></tr>\n", out);
    hr_count_cmd(f, o, buf, sizeof buf);
    fputs("<tr><th>Timeline</th><td><code>", out);
    hh_esc(out, buf);
    fputs("</code></td></tr>\n", out);
    hr_conv_cmd(f, o, buf, sizeof buf);
    fputs("<tr><th>Conversations</th><td><code>", out);
    hh_esc(out, buf);
    fputs("</code></td></tr>\n</table>\n", out);

    if (f->n_series > 0) {
        fputs("<div class=\"charts\">\n", out);
        for (int i = 0; i < f->n_series; i++)
            hh_chart(out, &f->series[i]);
        fputs("</div>\n", out);
    }
    hh_evidence(out, f, folded);
}

/* The findings a block stands for, one row each with its Hunt ID as the element id, so that
 * report.html#<Hunt ID> opens the block of a folded finding too. */
static void hh_folded_rows(FILE *out, hunt_finding_t *const *v, const hf_plan_t *fold,
                           size_t lead, size_t n)
{
    const size_t *mem = fold->members + fold->first[lead];
    fprintf(out,
            "<details><summary>The %zu folded findings</summary>\n<table class=\"index\">\n"
            "<thead><tr><th>Hunt ID</th><th>Risk</th><th>Host</th><th>User</th><th>Peer</th>"
            "<th>Score</th><th>Confidence</th><th>Seen</th></tr></thead>\n<tbody>\n",
            n);
    for (size_t i = 0; i < n; i++) {
        const hunt_finding_t *g = v[mem[i]];
        char host[FLOW_ADDR_STRLEN], a[32], b[32];
        if (mem[i] == lead) { /* the article itself, which has its ID */
            fputs("<tr class=\"lead\"><td>", out);
            hh_esc(out, g->hunt_id);
            fprintf(out, "</td><td colspan=\"7\">shown above</td></tr>\n");
            continue;
        }
        flow_addr_format(&g->host, host);
        timearg_format_iso(g->first_seen, a);
        timearg_format_iso(g->last_seen, b);
        fputs("<tr class=\"folded\" id=\"", out);
        hh_esc(out, g->hunt_id);
        fputs("\"><td>", out);
        hh_esc(out, g->hunt_id);
        /* each member's own risk and peer: a block of Medium and Low findings sits under its
         * leader's level, and only the first 16 peers are named in its evidence */
        fprintf(out, "</td><td><span class=\"badge risk-%s\">%s</span></td><td>",
                hh_risk_class(g->risk), hr_risk_name(g->risk));
        hh_esc(out, host);
        if (g->host_name[0]) {
            fputs(" (", out);
            hh_esc(out, g->host_name);
            fputc(')', out);
        }
        fputs("</td><td>", out);
        hh_esc(out, g->user[0] ? g->user : "unknown");
        fputs("</td><td class=\"addr\">", out);
        hh_esc_addr(out, g->peer);
        char pb[8], svc[32] = "";
        if (g->port >= 0)
            snprintf(svc, sizeof svc, " port %d", g->port);
        if (g->proto)
            snprintf(svc + strlen(svc), sizeof svc - strlen(svc), "/%s",
                     hr_proto_name(g->proto, pb));
        hh_esc(out, svc);
        fprintf(out, "</td><td>%.3f</td><td>%s</td><td>%s to %s</td></tr>\n", g->score,
                hr_conf_name(g->confidence), a, b);
    }
    fputs("</tbody></table></details>\n", out);
}

/* ---- the page ------------------------------------------------------------------------------- */

static const char hh_css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1b1f23;"
    "background:#f4f5f7;line-height:1.4}\n"
    "header,main,footer{max-width:1240px;margin:0 auto;padding:12px 20px}\n"
    "header{background:#fff;border-bottom:1px solid #d0d7de}\n"
    "h1{font-size:1.5em;margin:.3em 0}h2{margin-top:1.4em;border-bottom:2px solid #d0d7de}\n"
    "h3{margin:.2em 0 .4em;font-size:1.1em}\n"
    "table{border-collapse:collapse}th,td{text-align:left;vertical-align:top;padding:3px 8px}\n"
    "table.meta th,table.facts th{color:#57606a;font-weight:600;white-space:nowrap}\n"
    "table.index{width:100%;background:#fff}table.index td,table.index th{border-bottom:1px "
    "solid #eaeef2;white-space:nowrap;word-break:normal}table.index td.sum{white-space:normal;"
    "min-width:16em}\n"
    /* IPv6 hosts and peers (39 characters each) beside the other unbroken columns left the
     * summary no room: they may break at their colons (hh_esc_addr), never inside a group */
    "table.index td.addr{white-space:normal}\n"
    "table.index .fnote{display:block;font-size:.85em;color:#57606a}\n"
    "table.evidence{margin-top:8px;width:100%}table.evidence th,table.evidence td{border:1px "
    "solid #d0d7de}\n"
    "table.evidence thead th{background:#eaeef2}table.evidence tbody th{font-family:monospace;"
    "font-weight:normal;white-space:nowrap;width:1%}\n"
    "td{word-break:break-word}code,pre{font-family:ui-monospace,monospace;font-size:.9em}\n"
    "pre.json{white-space:pre-wrap;word-break:break-all;background:#f6f8fa;padding:6px}\n"
    ".finding{background:#fff;border:1px solid #d0d7de;border-left:6px solid #888;"
    "border-radius:4px;margin:14px 0;padding:10px 14px}\n"
    ".finding.risk-critical{border-left-color:#a40e26}.finding.risk-high{border-left-color:"
    "#d1570b}\n"
    ".finding.risk-medium{border-left-color:#c69026}.finding.risk-low{border-left-color:"
    "#2f7d46}\n"
    ".finding.suppressed{background:repeating-linear-gradient(45deg,#fff,#fff 12px,#f6f6f6 "
    "12px,#f6f6f6 24px);opacity:.9}\n"
    ".badge{display:inline-block;padding:1px 7px;border-radius:10px;font-size:.85em;"
    "color:#fff;background:#6e7781}\n"
    ".badge.risk-critical{background:#a40e26}.badge.risk-high{background:#d1570b}\n"
    ".badge.risk-medium{background:#c69026}.badge.risk-low{background:#2f7d46}\n"
    ".badge.supp{background:#57606a}.badge.new{background:#0969da}\n"
    ".counts .badge{font-size:1em;margin-right:6px}\n"
    ".summary{font-weight:600}.suppnote{color:#57606a;font-style:italic}\n"
    ".action{background:#fff8c5}a.hid{color:inherit}\n"
    ".charts{display:flex;flex-wrap:wrap;gap:12px}\n"
    "figure.chart{margin:6px 0;border:1px solid #eaeef2;padding:4px}\n"
    "figure.chart figcaption{font-size:.9em;font-weight:600;color:#57606a}\n"
    "svg .grid{stroke:#eaeef2}svg .axis{stroke:#57606a}\n"
    "svg .tick,svg .cap,svg .marklabel{font-size:11px;fill:#57606a}svg .marklabel{fill:#a40e26;"
    "font-weight:600}\n"
    "svg .bar{fill:#54aeff}svg .bar.mark{fill:#a40e26}svg .pt{fill:#0969da;fill-opacity:.75}\n"
    "footer{color:#57606a;font-size:.85em}\n";

static void hh_header(FILE *out, hunt_finding_t *const *v, size_t n, const hr_opts_t *o,
                      const hf_plan_t *fold, size_t n_acked, size_t n_below)
{
    char a[32], b[32], buf[1024];
    timearg_format_iso(o->from_ms, a);
    timearg_format_iso(o->to_ms, b);
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'\">\n<title>flowhunt report: ",
          out);
    hh_esc(out, o->dir ? o->dir : "");
    fprintf(out, " %s to %s</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n", a, b,
            hh_css);
    fputs("<h1>flowhunt hunt report</h1>\n<table class=\"meta\">\n", out);
    hh_row(out, "Data directory", o->dir ? o->dir : "");
    snprintf(buf, sizeof buf, "%s to %s", a, b);
    hh_row(out, "Window", buf);
    timearg_format_iso(o->now_ms, a);
    hh_row(out, "Report time (--now)", a);
    size_t unrecorded = 0;
    for (size_t i = 0; i < n; i++)
        unrecorded += v[i]->id_unrecorded != 0;
    if (unrecorded) { /* as the text header says: these IDs may name other findings later */
        snprintf(buf, sizeof buf,
                 "--no-state: the Hunt IDs of %zu new finding%s are not recorded; a later run "
                 "may give them to other findings",
                 unrecorded, unrecorded == 1 ? "" : "s");
        hh_row(out, "Hunt IDs", buf);
    }
    if (o->config_source)
        hh_row(out, "Configuration", o->config_source);
    if (o->prep) {
        const hp_stats_t *p = o->prep;
        snprintf(buf, sizeof buf,
                 "%" PRIu64 " flow records in %" PRIu64 " segments -> %" PRIu64
                 " conversations (%" PRIu64 " stitched, %" PRIu64
                 " duplicate copies dropped, %" PRIu64 " paired, %" PRIu64 " unanswered)",
                 p->rows, p->segments, p->convs, p->stitched, p->duplicates, p->paired, p->one_way);
        hh_row(out, "Data", buf);
        snprintf(buf, sizeof buf, "%" PRIu64 " internal hosts; sampling up to 1:%u; %u pass%s",
                 p->internal_hosts, p->max_sampling ? p->max_sampling : 1, p->partitions,
                 p->partitions == 1 ? "" : "es");
        hh_row(out, "Population", buf);
        if (p->first_ms || p->last_ms) {
            timearg_format_iso(p->first_ms, a);
            timearg_format_iso(p->last_ms, b);
            snprintf(buf, sizeof buf, "%s to %s", a, b);
            hh_row(out, "Traffic seen", buf);
        }
    }
    fputs("</table>\n", out);

    /* counts: the reported (not suppressed) findings per level, then the suppressed */
    size_t count[5] = {0}, supp = 0, fresh = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i]->suppressed)
            supp++;
        else
            count[hh_level(v[i])]++;
        fresh += v[i]->is_new != 0;
    }
    fprintf(out, "<p class=\"counts\">%zu finding%s: ", n - supp, n - supp == 1 ? "" : "s");
    for (int r = HUNT_RISK_CRITICAL; r >= HUNT_RISK_LOW; r--)
        fprintf(out, "<a href=\"#risk-%s\"><span class=\"badge risk-%s\">%s %zu</span></a>",
                hh_risk_class(r), hh_risk_class(r), hr_risk_name(r), count[r]);
    fprintf(out,
            "<a href=\"#suppressed\"><span class=\"badge supp\">Suppressed %zu</span></a> "
            "(%zu new this run)</p>\n",
            supp, fresh);
    /* what the page leaves out: read alone (a mail attachment), "No findings at this level"
     * under a level --min-risk hid said the network was clean there */
    if (n_acked || n_below || o->new_only) {
        fputs("<p class=\"counts\">Not shown:", out);
        const char *sep = " ";
        if (n_acked) {
            fprintf(out, "%s%zu acknowledged (flowhunt acks)", sep, n_acked);
            sep = "; ";
        }
        if (n_below) {
            fprintf(out, "%s%zu below %s (--min-risk)", sep, n_below, hr_risk_name(o->min_risk));
            sep = "; ";
        }
        if (o->new_only)
            fprintf(out, "%sfindings reported by an earlier run (--new-only)", sep);
        fputs(".</p>\n", out);
    }
    char folds[400];
    hf_summary(fold, o, folds, sizeof folds);
    if (folds[0]) {
        fputs("<p class=\"counts\">", out);
        hh_esc(out, folds);
        fputs(": each block shows its highest ranked finding and lists the others.</p>\n", out);
    }

    /* the index */
    if (n > 0) {
        fputs("<table class=\"index\">\n<thead><tr><th>Hunt ID</th><th>Risk</th><th>Technique"
              "</th><th>Host</th><th>Peer</th><th>Summary</th></tr></thead>\n<tbody>\n",
              out);
        for (size_t i = 0; i < n; i++) {
            const hunt_finding_t *f = v[i];
            if (fold->lead[i] != HF_ALONE && fold->lead[i] != i)
                continue; /* in its block's row */
            fputs("<tr><td><a href=\"#", out);
            hh_esc(out, f->hunt_id);
            fputs("\">", out);
            hh_esc(out, f->hunt_id);
            fputs("</a>", out);
            if (fold->lead[i] == i) {
                /* on a line of its own: the index's columns do not wrap, and a note beside
                 * the ID pushed the table past the page (beside IPv6 hosts and peers) */
                char note[64];
                hf_note(fold, i, note);
                fputs("<span class=\"fnote\">", out);
                hh_esc(out, note + (note[0] == ' '));
                fputs("</span>", out);
            }
            fprintf(out, "</td><td><span class=\"badge %s%s\">%s</span></td><td>",
                    f->suppressed ? "supp" : "risk-", f->suppressed ? "" : hh_risk_class(f->risk),
                    f->suppressed ? "Suppressed" : hr_risk_name(f->risk));
            hh_esc(out, f->tech[0]);
            flow_addr_format(&f->host, buf);
            fputs("</td><td class=\"addr\">", out);
            hh_esc_addr(out, buf);
            fputs("</td><td class=\"addr\">", out);
            hh_esc_addr(out, f->peer);
            fputs("</td><td class=\"sum\">", out);
            hh_esc(out, f->summary);
            fputs("</td></tr>\n", out);
        }
        fputs("</tbody></table>\n", out);
    }
    fputs("</header>\n", out);
}

/* v[i] as an article: alone, or as its block (with the members' table); nothing for a member
 * of a block, which its leader's article holds. */
static void hh_article(FILE *out, hunt_finding_t *const *v, const hf_plan_t *fold, size_t i,
                       const hr_opts_t *o)
{
    if (fold->lead[i] == HF_ALONE) {
        hh_finding(out, v[i], o, NULL, NULL);
        fputs("</article>\n", out);
    } else if (fold->lead[i] == i) {
        char note[64], *ev;
        size_t members = hf_describe(v, fold, i, o, note, &ev);
        hh_finding(out, v[i], o, note, ev);
        free(ev);
        hh_folded_rows(out, v, fold, i, members);
        fputs("</article>\n", out);
    }
}

void hh_print(FILE *out, hunt_finding_t *const *v, size_t n, const hr_opts_t *o, size_t n_acked,
              size_t n_below)
{
    /* a page of 5,000 findings that thousands of hosts share is one no browser opens well */
    hf_plan_t fold;
    hf_plan(&fold, v, n, o, 0);
    hh_header(out, v, n, o, &fold, n_acked, n_below);
    fputs("<main>\n", out);
    /* the findings by risk, in the report's order within each level */
    for (int r = HUNT_RISK_CRITICAL; r >= HUNT_RISK_NONE; r--) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            k += !v[i]->suppressed && hh_level(v[i]) == r;
        if (r == HUNT_RISK_NONE && k == 0)
            continue; /* no hunt reports below Low; shown only if one ever does */
        fprintf(out, "<section class=\"level\" id=\"risk-%s\">\n<h2>%s (%zu)</h2>\n",
                hh_risk_class(r), hr_risk_name(r), k);
        if (k == 0)
            fputs(r < o->min_risk ? "<p>Not shown: below the --min-risk level.</p>\n"
                  : o->new_only   ? "<p>No new findings at this level.</p>\n"
                                  : "<p>No findings at this level.</p>\n",
                  out);
        for (size_t i = 0; i < n; i++) {
            if (!v[i]->suppressed && hh_level(v[i]) == r)
                hh_article(out, v, &fold, i, o);
        }
        fputs("</section>\n", out);
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += v[i]->suppressed != 0;
    fprintf(out,
            "<section class=\"level\" id=\"suppressed\">\n<h2>Suppressed by the allow-list "
            "(%zu)</h2>\n<p>These matched an allow-list entry: reported for the record, not "
            "counted as findings.</p>\n",
            k);
    for (size_t i = 0; i < n; i++)
        if (v[i]->suppressed)
            hh_article(out, v, &fold, i, o);
    fputs("</section>\n</main>\n<footer>Written by flowhunt hunt. This page is self-contained: "
          "no scripts, fonts or images are loaded, and it needs no network to view.</footer>\n"
          "</body>\n</html>\n",
          out);
    hf_free(&fold);
}
