# R's side of the benchmark: read the file, fit glm(family = binomial) with the same model as
# `rounds riskadj`, print the seconds taken to read and to fit (wall clock; and CPU for the fit), write the coefficients (17 digits).
# Usage: Rscript glm.R DATA.csv COEF_OUT.csv
args <- commandArgs(trailingOnly = TRUE)
invisible(Sys.setlocale("LC_COLLATE", "C"))
cpu <- function() { t <- proc.time(); t[["user.self"]] + t[["sys.self"]] }
t0 <- proc.time()[["elapsed"]]
d <- read.csv(args[1], colClasses = c(hospital = "character", admission = "factor", frailty = "factor"))
t1 <- proc.time()[["elapsed"]]; c1 <- cpu()
covariates <- c(sprintf("x%02d", 1:18), "admission", "frailty")
fit <- glm(reformulate(covariates, response = "died"), family = binomial, data = d)
s <- summary(fit)$coefficients
t2 <- proc.time()[["elapsed"]]; c2 <- cpu()
write.csv(data.frame(term = rownames(s), estimate = sprintf("%.17g", s[, 1]),
                     se = sprintf("%.17g", s[, 2])), args[2], row.names = FALSE, quote = FALSE)
cat(sprintf("r_read_seconds %.3f\nr_glm_seconds %.3f\nr_glm_cpu_seconds %.3f\nr_iterations %d\n",
            t1 - t0, t2 - t1, c2 - c1, fit$iter))
