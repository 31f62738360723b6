//! Synthea CSV import (to come).
