// Package week generates the week-long request-rate traces the Steady strategy is measured on
// (docs/benchmarks.md): one metric, http_requests_per_minute, sampled every minute for seven
// days from Monday 2026-11-16T00:00:00Z (10 080 samples), in four shapes. A trace is a pure
// function of its shape and seed — the same pair always gives the same samples — and seeds
// change the noise, the day-to-day variation and where spikes fall, never the shape's
// parameters below.
//
// The policies it is replayed against target 2000 requests per minute per replica, so a rate
// of 20 000 needs 10 replicas.
//
//   - diurnal: a weekday curve from a night of 8 000 (03:00) up a morning ramp (06:00–10:00)
//     to a peak ten times the night, 80 000 (11:00–17:00, with a lunch dip of 8 %), and down an
//     evening ramp (17:00–24:00); Saturday and Sunday peak at 45 % of a weekday's. Each day's
//     peak varies by up to ±8 % (seeded). Noise: an AR(1) process of 7 % (correlation 0.8 per
//     minute, so it wanders over minutes like real traffic) and 1 % white noise, both
//     multiplicative. The noise is calibrated against a real week: replayed over a real week
//     of public web traffic with the same daily swing and target (2 000 requests per minute per
//     replica, 60 s steps), the HPA-default policy changes the count 470 times and is short for
//     37 h; on this shape it makes 473–499 changes and is short 35–39 h (seeds 1–3), where the
//     smoother noise this shape had before (4 % AR(1) at 0.9, 1.5 % white) gave only ~280
//     changes — smoother than real traffic at one-minute resolution. The calibration looks at
//     the HPA-default policy only, never at Steady (TestDiurnalCalibration pins it).
//   - spikes: a flat 10 000 with four spikes a day, six hours apart, each shifted by up to
//     ±60 minutes (seeded): it rises to 4–8× the base (seeded) within 2 minutes, stays for
//     10–30 minutes (seeded) and decays over 10 minutes. Noise: 2 % AR(1), 1 % white.
//   - ramp: a slow launch, 6 000 growing linearly to 60 000 over the week, with a weekday
//     swing of ±10 % around the trend (peak at 14:00). Noise: 3 % AR(1), 1 % white.
//   - noisy: a flat 20 000 with heavy noise: 8 % AR(1) (correlation 0.8) and 6 % white.
package week
