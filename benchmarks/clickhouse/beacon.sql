-- beacon.sql: RITA v5's beacon scoring as ClickHouse 18.16 SQL, the anchor `make bench` runs
-- beside `flowhunt hunt --hunts beacon` over the same flows (benchmarks/bench_clickhouse.sh).
--
-- What it implements (../shared/reference/hunting-methods.md 1.1, with flowhunt's defaults from
-- analyzer/hunt.h [beacon] where the two differ, so both score the same way):
--   unit       (internal source, destination, destination port, protocol), as flowhunt; RITA's
--              is the host pair. Every flow record from an internal source is a connection;
--              an answer record (server port to client port) lands in a unit of its own with
--              the client's ephemeral port and so almost never reaches min_connections.
--   eligible   min_connections (6) <= n < max_connections (86400, RITA's strobe limit).
--   timing TS  intervals between the sorted start times, those under min_interval_ms (1 s)
--              dropped as retries (RITA drops 0 s at second resolution); >= 3 intervals;
--              (1 - |Bowley skew|  [0 when IQR < iqr_guard_s (10 s) or Q2 = Q1 or Q2 = Q3]
--               + (median - MAD) / median [1 when median < 1; clamped at 0]) / 2.
--   size DS    the same over the sorted bytes of the records (guard size_iqr_guard, 10 B;
--              0 when the median < 1 B); >= 3 sizes.
--   HIST       hist_bins (24) equal bins over the window: max(1 - CV of the counts [0 when
--              CV > 1], the bimodal fit: non-zero bars bucketed by ceil(max bar * 0.05), the
--              two commonest buckets / (non-zero bars - 1), only with >= 11 non-zero bars).
--   DUR        with >= 6 non-zero bins: max(coverage (last - first start) / window, longest
--              run of non-zero bins, wrapping round, / 12), each capped at 1.
--   score      0.25 TS + 0.25 DS + 0.25 DUR + 0.25 HIST; RITA's bucket (0.5..0.7 -> 0.2..0.4,
--              0.7..0.9 -> 0.4..0.6, 0.9..1 -> 0.6..0.8); reported when score >= 0.5 and
--              TS >= timing_min (0.75), flowhunt's gate without a significant period.
-- Quantiles interpolate linearly between the sorted values (p * (n - 1)), as flowhunt's
-- hb_q; 18.16's quantileExact takes the element at floor(p * n) and arrayReduce takes no
-- parametric aggregate, so they are written out as array indexing.
--
-- Where flowhunt's beacon hunt does more (docs/HUNTING.md "Beaconing"), not done here:
--   no preparation: flowhunt stitches records cut by active timeouts, drops duplicates seen
--   by several exporters, pairs each request with its answer into one conversation and turns
--   round lone answers; here each record of an internal source is a connection;
--   no periodicity test (candidate periods, least squares, Rayleigh test) and so no timing
--   by period; no second histogram over the unit's own active span; no /24 destination
--   units; no prevalence, non-standard port or internal-destination modifiers, no poller,
--   fleet-timer or shared-timer caps, no sampling correction, no confidence, no evidence.
-- So the SQL is the lighter of the two, which makes it a generous anchor.
--
-- Placeholders, replaced by bench_clickhouse.sh (18.16 has no query parameters):
--   __FROM_MS__, __TO_MS__   the window [from, to), ms since the epoch
--   __NET_LO__, __NET_HI__   first and last IPv4 address of the internal network
SELECT
    IPv6NumToString(src) AS src_ip,
    IPv6NumToString(dst) AS dst_ip,
    dst_port,
    proto,
    n,
    round(ts_score, 3) AS timing,
    round(ds_score, 3) AS size,
    round(dur_score, 3) AS duration,
    round(hist_score, 3) AS histogram,
    round(score, 3) AS beacon_score,
    round(multiIf(score < 0.7, 0.2 + 0.2 * (score - 0.5) / 0.2,
                  score < 0.9, 0.4 + 0.2 * (score - 0.7) / 0.2,
                  least(0.6 + 0.2 * (score - 0.9) / 0.1, 0.8)), 3) AS bucketed
FROM
(
    SELECT
        src, dst, dst_port, proto, n,
        -- timing: the intervals (s), sorted, their quartiles and MAD
        arraySort(arrayMap(x -> x / 1000,
            arrayFilter(x -> x >= 1000, arrayDifference(ts)))) AS iv,
        length(iv) AS niv,
        arrayMap(p -> iv[toUInt32(floor(p * (niv - 1))) + 1]
            + (iv[toUInt32(least(toUInt64(floor(p * (niv - 1))) + 2, niv))]
               - iv[toUInt32(floor(p * (niv - 1))) + 1]) * (p * (niv - 1) - floor(p * (niv - 1))),
            [0.25, 0.5, 0.75]) AS iq,
        arraySort(arrayMap(x -> abs(x - iq[2]), iv)) AS ivdev,
        ivdev[toUInt32(floor(0.5 * (niv - 1))) + 1]
            + (ivdev[toUInt32(least(toUInt64(floor(0.5 * (niv - 1))) + 2, niv))]
               - ivdev[toUInt32(floor(0.5 * (niv - 1))) + 1])
              * (0.5 * (niv - 1) - floor(0.5 * (niv - 1))) AS imad,
        if(iq[3] - iq[1] >= 10 AND iq[2] != iq[1] AND iq[2] != iq[3],
           (iq[1] + iq[3] - 2 * iq[2]) / (iq[3] - iq[1]), 0) AS iskew,
        if(iq[2] >= 1, (iq[2] - imad) / iq[2], 1) AS imadr,
        if(niv >= 3, ((1 - abs(iskew)) + if(imadr > 0, imadr, 0)) / 2, 0) AS ts_score,
        -- size: the same over the bytes
        arrayMap(p -> sz[toUInt32(floor(p * (n - 1))) + 1]
            + (sz[toUInt32(least(toUInt64(floor(p * (n - 1))) + 2, n))]
               - sz[toUInt32(floor(p * (n - 1))) + 1]) * (p * (n - 1) - floor(p * (n - 1))),
            [0.25, 0.5, 0.75]) AS sq,
        arraySort(arrayMap(x -> abs(x - sq[2]), sz)) AS szdev,
        szdev[toUInt32(floor(0.5 * (n - 1))) + 1]
            + (szdev[toUInt32(least(toUInt64(floor(0.5 * (n - 1))) + 2, n))]
               - szdev[toUInt32(floor(0.5 * (n - 1))) + 1])
              * (0.5 * (n - 1) - floor(0.5 * (n - 1))) AS smad,
        if(sq[3] - sq[1] >= 10 AND sq[2] != sq[1] AND sq[2] != sq[3],
           (sq[1] + sq[3] - 2 * sq[2]) / (sq[3] - sq[1]), 0) AS sskew,
        if(sq[2] >= 1, (sq[2] - smad) / sq[2], 0) AS smadr,
        ((1 - abs(sskew)) + if(smadr > 0, smadr, 0)) / 2 AS ds_score,
        -- histogram: 24 bins over the window
        arrayMap(b -> countEqual(
            arrayMap(t -> least(toUInt32(floor((t - __FROM_MS__) / (__TO_MS__ - __FROM_MS__) * 24)), 23), ts),
            b), range(24)) AS bins,
        arraySum(arrayMap(c -> c > 0, bins)) AS nz,
        n / 24 AS mean,
        sqrt(arraySum(arrayMap(c -> (c - mean) * (c - mean), bins)) / 24) / mean AS cv,
        arrayMap(c -> intDiv(c, toUInt64(greatest(ceil(arrayReduce('max', bins) * 0.05), 1.0))),
            arrayFilter(c -> c > 0, bins)) AS bk,
        arrayReverseSort(arrayFilter((f, u) -> u = 1,
            arrayMap(b -> countEqual(bk, b), bk), arrayEnumerateUniq(bk))) AS top,
        if(nz >= 11, least((top[1] + top[2]) / greatest(nz - 1, 1), 1.0), 0) AS bimodal,
        greatest(if(cv > 1, 0, 1 - cv), bimodal) AS hist_score,
        -- duration: coverage, or the longest run of non-zero bins (wrapping round) / 12
        arrayConcat(arrayMap(c -> c > 0, bins), arrayMap(c -> c > 0, bins)) AS twice,
        least(arrayReduce('max', arrayMap(i -> if(arrayFirstIndex(x -> x = 0,
            arraySlice(twice, i, 24)) = 0, 24, arrayFirstIndex(x -> x = 0,
            arraySlice(twice, i, 24)) - 1), arrayEnumerate(bins))), 24) AS longest,
        if(nz >= 6, greatest(least((ts[-1] - ts[1]) / (__TO_MS__ - __FROM_MS__), 1.0),
                             least(longest / 12, 1.0)), 0) AS dur_score,
        0.25 * ts_score + 0.25 * ds_score + 0.25 * dur_score + 0.25 * hist_score AS score
    FROM
    (
        SELECT
            src, dst, dst_port, proto,
            count() AS n,
            arraySort(groupArray(ts_ms)) AS ts,
            arraySort(groupArray(bytes)) AS sz
        FROM flows
        WHERE ts_ms >= __FROM_MS__ AND ts_ms < __TO_MS__
          AND src >= IPv4ToIPv6(IPv4StringToNum('__NET_LO__'))
          AND src <= IPv4ToIPv6(IPv4StringToNum('__NET_HI__'))
        GROUP BY src, dst, dst_port, proto
        HAVING n >= 6 AND n < 86400
    )
)
WHERE score >= 0.5 AND ts_score >= 0.75
ORDER BY score DESC, src_ip, dst_ip, dst_port, proto
