//! The pharma crate's one integration-test binary: the FAERS reader against hand-made quarterly
//! extracts, and the drug-safety product (screening job, stored runs, pages, API) on each test
//! database.

#[path = "pharma/faers.rs"]
mod faers;

#[path = "pharma/product.rs"]
mod product;
