# One seeded data set for the surveillance benchmark: weekly counts of 10,000 series over 315 ISO
# weeks (5 years of history + 52 evaluated weeks; seasonality, trend, negative binomial noise,
# planted outbreaks) and daily incidence of 100 epidemics over 365 days. Subsets of the first
# 100 and 1,000 weekly series are written for the comparisons with R.
# Usage: Rscript make_data.R OUTDIR [SEED]
args <- commandArgs(trailingOnly = TRUE); out <- args[1]
seed <- if (length(args) > 1) as.integer(args[2]) else 20261124
dir.create(out, showWarnings = FALSE, recursive = TRUE)
set.seed(seed)
n_series <- 10000; n_weeks <- 315
weeks <- format(as.Date("2019-12-30") + 7 * (0:(n_weeks - 1)), "%G-W%V")  # 2020-W01 onwards
t <- 1:n_weeks
counts <- matrix(0L, n_weeks, n_series)
for (j in 1:n_series) {
  base <- exp(runif(1, log(0.5), log(200)))
  mu <- base * exp(runif(1, 0, 0.8) * sin(2 * pi * (t + runif(1, 0, 52)) / 52) + rnorm(1, 0, 0.15) * t / 52)
  y <- rnbinom(n_weeks, mu = mu, size = runif(1, 2, 30))
  for (o in sample(200:(n_weeks - 4), rpois(1, 1.5))) y[o:(o + 3)] <- y[o:(o + 3)] + rpois(4, 3 * sqrt(mu[o:(o + 3)]) + 3)
  counts[, j] <- y
}
write_weekly <- function(k, file) {
  df <- data.frame(series = rep(sprintf("s%05d", 1:k), each = n_weeks), period = rep(weeks, k),
                   count = as.vector(counts[, 1:k]))
  write.csv(df, file, row.names = FALSE, quote = FALSE)
}
write_weekly(n_series, file.path(out, "weekly.csv"))
write_weekly(1000, file.path(out, "weekly-1000.csv"))
write_weekly(100, file.path(out, "weekly-100.csv"))

n_days <- 365; d <- 1:n_days
daily <- do.call(rbind, lapply(1:100, function(j) {
  peak <- runif(1, 60, 300); growth <- runif(1, 0.03, 0.12); size <- exp(runif(1, log(50), log(3000)))
  inc <- rpois(n_days, 1 + size * exp(-((d - peak) * growth)^2 / 2))
  data.frame(series = sprintf("e%03d", j), date = format(as.Date("2024-01-01") + d - 1), cases = inc)
}))
write.csv(daily, file.path(out, "daily-100.csv"), row.names = FALSE, quote = FALSE)
