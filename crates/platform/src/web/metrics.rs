//! Prometheus metrics at `/metrics`, in the text exposition format: requests by route and status,
//! a latency histogram by route, and jobs by status (read from the database at scrape time, so
//! every server reports the shared queue). Routes are labelled by their pattern
//! (`/api/v1/facilities/{id}`), never by the path a client sent.

use super::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<(String, String), Histogram>>,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut requests) = self.requests.lock() {
            *requests
                .entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
        }
        if let Ok(mut latency) = self.latency.lock() {
            let h = latency
                .entry((method.to_string(), route.to_string()))
                .or_default();
            for (i, bound) in BUCKETS.iter().enumerate() {
                if seconds <= *bound {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += seconds;
        }
    }

    /// The exposition text, with the job counts given.
    pub fn render(&self, jobs: &[(String, i64)], uptime_seconds: f64) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP rounds_http_requests_total HTTP requests by method, route and status.\n",
        );
        out.push_str("# TYPE rounds_http_requests_total counter\n");
        if let Ok(requests) = self.requests.lock() {
            for ((method, route, status), n) in requests.iter() {
                let _ = writeln!(
                    out,
                    "rounds_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP rounds_http_request_duration_seconds Time to answer a request.\n");
        out.push_str("# TYPE rounds_http_request_duration_seconds histogram\n");
        if let Ok(latency) = self.latency.lock() {
            for ((method, route), h) in latency.iter() {
                let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
                for (bound, n) in BUCKETS.iter().zip(h.counts) {
                    let _ = writeln!(
                        out,
                        "rounds_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
                    );
                }
                let _ = writeln!(
                    out,
                    "rounds_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(
                    out,
                    "rounds_http_request_duration_seconds_sum{{{labels}}} {}",
                    h.sum
                );
                let _ = writeln!(
                    out,
                    "rounds_http_request_duration_seconds_count{{{labels}}} {}",
                    h.count
                );
            }
        }
        out.push_str("# HELP rounds_jobs Jobs in the queue by status.\n# TYPE rounds_jobs gauge\n");
        for status in ["queued", "running", "done", "failed"] {
            let n = jobs
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n);
            let _ = writeln!(out, "rounds_jobs{{status=\"{status}\"}} {n}");
        }
        out.push_str("# HELP rounds_uptime_seconds Seconds since this server started.\n# TYPE rounds_uptime_seconds gauge\n");
        let _ = writeln!(out, "rounds_uptime_seconds {uptime_seconds:.3}");
        out
    }
}

fn escape(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Middleware: times every request and counts it under its route pattern.
pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let response = next.run(req).await;
    state.metrics.observe(
        &method,
        &route,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let metrics = Metrics::default();
        metrics.observe("GET", "/", 200, 0.003);
        metrics.observe("GET", "/", 200, 0.2);
        let text = metrics.render(&[("failed".into(), 2)], 1.0);
        assert!(
            text.contains(
                "rounds_http_requests_total{method=\"GET\",route=\"/\",status=\"200\"} 2"
            )
        );
        assert!(text.contains("route=\"/\",le=\"0.0025\"} 0"));
        assert!(text.contains("route=\"/\",le=\"0.005\"} 1"));
        assert!(text.contains("route=\"/\",le=\"0.25\"} 2"));
        assert!(text.contains("rounds_jobs{status=\"failed\"} 2"));
        assert!(text.contains("rounds_jobs{status=\"queued\"} 0"));
    }
}
