# Times R surveillance 1.20.3 / EpiEstim 2.2.4 on the benchmark files (make_data.R) and writes
# their results for the agreement check. Prints `<name>_seconds <s>` lines.
# Usage: Rscript r_methods.R DATADIR OUTDIR
suppressMessages({library(surveillance); library(EpiEstim)})
args <- commandArgs(trailingOnly = TRUE); dir <- args[1]; out <- args[2]
weekly <- function(file) {
  df <- read.csv(file, stringsAsFactors = FALSE)
  split(df, factor(df$series, levels = unique(df$series)))
}
run <- function(name, series, evaluate) {
  rows <- list()
  seconds <- system.time(for (s in series) {
    y <- s$count; n <- length(y)
    st <- sts(observed = matrix(y, ncol = 1), frequency = 52, start = c(2020, 1))
    r <- suppressWarnings(evaluate(st, n))
    rng <- (n - nrow(r) + 1):n
    rows[[length(rows) + 1]] <- data.frame(series = s$series[1], period = s$period[rng],
      threshold = as.numeric(upperbound(r)), alarm = as.logical(alarms(r)))
  })[["elapsed"]]
  cat(sprintf("%s_seconds %.3f\n", name, seconds))
  write.csv(do.call(rbind, rows), file.path(out, paste0("r-", name, ".csv")), row.names = FALSE, quote = FALSE)
}
w100 <- weekly(file.path(dir, "weekly-100.csv"))
last52 <- function(n) (n - 51):n
run("farrington", w100, function(st, n) farringtonFlexible(st, list(range = last52(n))))
run("noufaily", w100, function(st, n) farringtonFlexible(st, list(range = last52(n), noPeriods = 10,
    pastWeeksNotIncluded = 26, weightsThreshold = 2.58, thresholdMethod = "nbPlugin")))
w1000 <- weekly(file.path(dir, "weekly-1000.csv"))
run("ears-c1", w1000, function(st, n) earsC(st, list(range = 8:n, method = "C1")))
run("ears-c3", w1000, function(st, n) earsC(st, list(range = 12:n, method = "C3")))

daily <- read.csv(file.path(dir, "daily-100.csv"), stringsAsFactors = FALSE)
rows <- list()
seconds <- system.time(for (s in split(daily, factor(daily$series, levels = unique(daily$series)))) {
  res <- suppressWarnings(suppressMessages(estimate_R(s$cases, method = "parametric_si",
    config = make_config(list(mean_si = 4.8, std_si = 2.3)))))
  rows[[length(rows) + 1]] <- data.frame(series = s$series[1], t_start = s$date[res$R$t_start],
    mean_r = res$R$`Mean(R)`, q975 = res$R$`Quantile.0.975(R)`)
})[["elapsed"]]
cat(sprintf("rt_seconds %.3f\n", seconds))
write.csv(do.call(rbind, rows), file.path(out, "r-rt.csv"), row.names = FALSE, quote = FALSE)
