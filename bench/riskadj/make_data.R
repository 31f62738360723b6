# Seeded patient-level data for the risk-adjustment benchmark: 1,000,000 rows, 20 covariates
# (18 numeric, 2 categorical with 4 and 3 levels: 23 model columns plus the intercept), 100
# hospitals, a binary outcome from a known logistic model. Usage: Rscript make_data.R OUT.csv [ROWS]
args <- commandArgs(trailingOnly = TRUE)
out <- args[1]
n <- if (length(args) > 1) as.integer(args[2]) else 1000000L
set.seed(20261124)
p <- 18
x <- matrix(round(rnorm(n * p), 4), n, p, dimnames = list(NULL, sprintf("x%02d", 1:p)))
x[, 1:4] <- round(runif(n * 4, 0, 10), 3)          # bounded measures (e.g. scores)
x[, 5:6] <- rbinom(n * 2, 1, 0.3)                   # flags (emergency, transfer)
admission <- sample(c("elective", "emergency", "transfer", "urgent"), n, replace = TRUE,
                    prob = c(0.3, 0.4, 0.1, 0.2))
frailty <- sample(c("mild", "none", "severe"), n, replace = TRUE, prob = c(0.25, 0.65, 0.1))
beta <- c(0.08, -0.05, 0.03, 0.02, 0.6, 0.4, seq(-0.3, 0.3, length.out = p - 6))
lp <- -3 + drop(x %*% beta) +
  c(elective = -0.5, emergency = 0.4, transfer = 0.7, urgent = 0)[admission] +
  c(mild = 0.3, none = 0, severe = 1.1)[frailty]
hospital <- sprintf("h%03d", sample(1:100, n, replace = TRUE))
died <- rbinom(n, 1, plogis(lp))
d <- data.frame(hospital, died, x, admission, frailty)
write.csv(d, out, row.names = FALSE, quote = FALSE)
