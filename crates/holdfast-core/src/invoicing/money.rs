//! Exact money arithmetic for invoices. No floating point anywhere: amounts, quantities and
//! rates are decimals read from text into integers of a fixed scale, and results are rounded
//! once, by one documented rule.
//!
//! **The rounding rule: per line, half away from zero, to the currency's minor unit.** Each
//! line's net amount (`quantity × unit price`, less its discount) is rounded to the currency's
//! minor unit (cents for EUR, none for JPY, fils for BHD), with a half rounded away from zero
//! (2.675 → 2.68, −2.675 → −2.68, as on a till and in most tax codes); the line's tax is its
//! rounded net times its tax rate, rounded the same way. An invoice's totals are the sums of
//! the rounded lines, so every line on the page adds up to the total printed under it.
//! Credit notes are the same lines negated, and round symmetrically.

use crate::validate::FieldError;

/// ISO 4217 currencies and their minor units (digits after the decimal point).
const CURRENCIES: &[(&str, u32)] = &[
    ("AED", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("MAD", 2),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PEN", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TND", 3),
    ("TRY", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("UYU", 2),
    ("VND", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("ZAR", 2),
];

/// A currency Holdfast invoices in, with its minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency {
    code: &'static str,
    minor_units: u32,
}

impl Currency {
    pub const EUR: Currency = Currency {
        code: "EUR",
        minor_units: 2,
    };

    /// A stored code (checked when it was saved; EUR if this version no longer knows it).
    pub fn from_trusted(text: &str) -> Currency {
        Currency::parse("currency", text).unwrap_or(Currency::EUR)
    }

    pub fn parse(field: &str, text: &str) -> Result<Currency, FieldError> {
        let upper = text.trim().to_ascii_uppercase();
        CURRENCIES
            .iter()
            .find(|(code, _)| *code == upper)
            .map(|(code, minor_units)| Currency {
                code,
                minor_units: *minor_units,
            })
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    "must be an ISO 4217 currency code Holdfast knows, like EUR, USD or GBP",
                )
            })
    }

    pub fn code(self) -> &'static str {
        self.code
    }

    pub fn minor_units(self) -> u32 {
        self.minor_units
    }
}

/// The scale decimals are held at: 6 places (quantities have up to 3, prices up to 4, rates up
/// to 4), so products of two are exact at 12 places before rounding.
const SCALE: u32 = 6;
const ONE: i128 = 1_000_000;

/// An exact decimal, held as an integer of millionths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Decimal(i128);

impl Decimal {
    pub const ZERO: Decimal = Decimal(0);

    /// Reads `text` (`12`, `-3.5`, `0.125`) with at most `places` decimal places and 9 whole
    /// digits (up to 999 999 999: what keeps every product below exact in 128 bits); anything
    /// else is refused with what is expected.
    pub fn parse(field: &str, text: &str, places: u32) -> Result<Decimal, FieldError> {
        let bad = || {
            FieldError::new(
                field,
                format!("must be a number with at most {places} decimal places, like 12.50"),
            )
        };
        let text = text.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (whole, fraction) = match digits.split_once('.') {
            Some((_, "")) => return Err(bad()),
            Some(parts) => parts,
            None => (digits, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || whole.len() > 9
            || !all_digits(whole)
            || !all_digits(fraction)
            || fraction.len() as u32 > places.min(SCALE)
        {
            return Err(bad());
        }
        let whole: i128 = whole.parse().map_err(|_| bad())?;
        let mut frac: i128 = if fraction.is_empty() {
            0
        } else {
            fraction.parse().map_err(|_| bad())?
        };
        frac *= 10_i128.pow(SCALE - fraction.len() as u32);
        let value = whole * ONE + frac;
        Ok(Decimal(if negative { -value } else { value }))
    }

    /// An amount kept in the currency's minor units (cents).
    pub fn from_minor(minor: i64, currency: Currency) -> Decimal {
        Decimal(i128::from(minor) * 10_i128.pow(SCALE - currency.minor_units))
    }

    pub fn is_positive(self) -> bool {
        self.0 > 0
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// The amount in minor units as stored (a 64-bit column): `None` when it does not fit.
    pub fn minor_i64(self, currency: Currency) -> Option<i64> {
        i64::try_from(self.minor(currency)).ok()
    }

    /// As text without trailing zeros (`2.50` → `2.5`, `3.000` → `3`): how quantities and
    /// rates are kept and shown.
    pub fn plain(self) -> String {
        let text = self.text(SCALE);
        match text.split_once('.') {
            Some((whole, fraction)) => {
                let fraction = fraction.trim_end_matches('0');
                if fraction.is_empty() {
                    whole.to_owned()
                } else {
                    format!("{whole}.{fraction}")
                }
            }
            None => text,
        }
    }

    /// Rounded half away from zero to `places` decimal places.
    pub fn round_to(self, places: u32) -> Decimal {
        let drop = SCALE.saturating_sub(places);
        Decimal(round_half_away(self.0, drop) * 10_i128.pow(drop))
    }

    pub fn plus(self, other: Decimal) -> Decimal {
        Decimal(self.0 + other.0)
    }

    pub fn minus(self, other: Decimal) -> Decimal {
        Decimal(self.0 - other.0)
    }

    pub fn negate(self) -> Decimal {
        Decimal(-self.0)
    }

    /// The amount in the currency's minor units (cents), for payment providers.
    pub fn minor(self, currency: Currency) -> i128 {
        self.round_to(currency.minor_units).0 / 10_i128.pow(SCALE - currency.minor_units)
    }

    /// As text with exactly `places` decimal places (`12.50`).
    pub fn text(self, places: u32) -> String {
        let rounded = self.round_to(places).0;
        let sign = if rounded < 0 { "-" } else { "" };
        let abs = rounded.unsigned_abs();
        let whole = abs / ONE as u128;
        if places == 0 {
            return format!("{sign}{whole}");
        }
        let frac = (abs % ONE as u128) / 10_u128.pow(SCALE - places);
        format!("{sign}{whole}.{frac:0width$}", width = places as usize)
    }
}

/// `value` divided by 10^`digits`, rounded half away from zero.
fn round_half_away(value: i128, digits: u32) -> i128 {
    if digits == 0 {
        return value;
    }
    let divisor = 10_i128.pow(digits);
    let quotient = value / divisor;
    let remainder = (value % divisor).abs();
    if remainder * 2 >= divisor {
        quotient + value.signum()
    } else {
        quotient
    }
}

/// One invoice line's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineFigures {
    pub net: Decimal,
    pub tax: Decimal,
}

/// A line's rounded net and tax (the rule in this module's documentation): `quantity ×
/// unit_price`, less `discount_percent`, rounded once from the exact product; then its tax at
/// `tax_percent` of the rounded net, rounded once. (Inputs are below a billion, as
/// [`Decimal::parse`] reads them, so every product is exact in 128 bits.)
pub fn line(
    currency: Currency,
    quantity: Decimal,
    unit_price: Decimal,
    discount_percent: Decimal,
    tax_percent: Decimal,
) -> LineFigures {
    let places = currency.minor_units;
    let back = |minor: i128| Decimal(minor.saturating_mul(10_i128.pow(SCALE - places)));
    // quantity × price at scale 12, × (100 % − discount) at scale 6 as a percentage: scale 20.
    let exact_net = quantity
        .0
        .saturating_mul(unit_price.0)
        .saturating_mul(100 * ONE - discount_percent.0);
    let net = back(round_half_away(exact_net, 20 - places));
    // net at scale 6 × rate at scale 6 as a percentage: scale 14.
    let exact_tax = net.0.saturating_mul(tax_percent.0);
    let tax = back(round_half_away(exact_tax, 14 - places));
    LineFigures { net, tax }
}

/// An invoice's totals: the sums of its rounded lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    pub net: Decimal,
    pub tax: Decimal,
    pub total: Decimal,
}

pub fn totals(lines: &[LineFigures]) -> Totals {
    let net = lines.iter().fold(Decimal::ZERO, |sum, l| sum.plus(l.net));
    let tax = lines.iter().fold(Decimal::ZERO, |sum, l| sum.plus(l.tax));
    Totals {
        net,
        tax,
        total: net.plus(tax),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        Decimal::parse("x", text, 6).unwrap()
    }

    fn eur() -> Currency {
        Currency::parse("currency", "eur").unwrap()
    }

    #[test]
    fn minor_units_and_plain_text_round_trip() {
        let eur = eur();
        assert_eq!(Decimal::from_minor(1234, eur).text(2), "12.34");
        assert_eq!(Decimal::from_minor(-5, eur).text(2), "-0.05");
        assert_eq!(Decimal::from_minor(1234, eur).minor_i64(eur), Some(1234));
        let yen = Currency::parse("c", "JPY").unwrap();
        assert_eq!(Decimal::from_minor(1001, yen).text(0), "1001");
        assert_eq!(d("2.50").plain(), "2.5");
        assert_eq!(d("3.000").plain(), "3");
        assert_eq!(d("-0.125").plain(), "-0.125");
        assert_eq!(Decimal::ZERO.plain(), "0");
        assert!(d("0.000001").is_positive() && d("-1").is_negative());
        assert_eq!(Currency::from_trusted("usd").code(), "USD");
        assert_eq!(Currency::from_trusted("??"), Currency::EUR);
    }

    #[test]
    fn currencies_know_their_minor_units() {
        assert_eq!(Currency::parse("c", "JPY").unwrap().minor_units(), 0);
        assert_eq!(Currency::parse("c", " bhd ").unwrap().minor_units(), 3);
        assert_eq!(eur().code(), "EUR");
        for bad in ["", "EURO", "XXX", "€"] {
            assert!(Currency::parse("c", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn decimals_are_read_exactly_and_refused_clearly() {
        assert_eq!(d("2.675").text(3), "2.675");
        assert_eq!(d("-0.5").text(2), "-0.50");
        assert_eq!(d("007").text(0), "7");
        for bad in [
            "",
            "1.",
            ".5",
            "1e3",
            "1,5",
            "--1",
            "1.2345678",
            "1234567890123",
            "NaN",
        ] {
            assert!(Decimal::parse("x", bad, 6).is_err(), "{bad:?}");
        }
        let refused = Decimal::parse("unit_price", "1.23456", 4).unwrap_err();
        assert!(
            refused.message.contains("4 decimal places"),
            "{}",
            refused.message
        );
    }

    #[test]
    fn halves_round_away_from_zero_where_floating_point_would_not() {
        // 2.675 is 2.67499999… as a binary float; exactly, it rounds up.
        assert_eq!(d("2.675").round_to(2).text(2), "2.68");
        assert_eq!(d("-2.675").round_to(2).text(2), "-2.68");
        assert_eq!(d("0.005").round_to(2).text(2), "0.01");
        assert_eq!(d("0.0049").round_to(2).text(2), "0.00");
        assert_eq!(d("1.5").round_to(0).text(0), "2");
        assert_eq!(
            d("2.5").round_to(0).text(0),
            "3",
            "half away from zero, not to even"
        );
        // 1.005 × 1 at 2 places: 1.01 (a float gives 1.00).
        let line = line(eur(), d("1"), d("1.005"), Decimal::ZERO, Decimal::ZERO);
        assert_eq!(line.net.text(2), "1.01");
    }

    #[test]
    fn lines_round_once_each_and_totals_are_their_sums() {
        let eur = eur();
        // Three thirds of a price: each line rounds, the total is what the lines show.
        let third = line(eur, d("0.333"), d("10.00"), Decimal::ZERO, d("19"));
        assert_eq!(
            (third.net.text(2), third.tax.text(2)),
            ("3.33".into(), "0.63".into())
        );
        let sum = totals(&[third, third, third]);
        assert_eq!(
            (sum.net.text(2), sum.tax.text(2), sum.total.text(2)),
            ("9.99".into(), "1.89".into(), "11.88".into())
        );
        // A 12.5 % discount and 7.625 % tax.
        let discounted = line(eur, d("3"), d("19.99"), d("12.5"), d("7.625"));
        assert_eq!(discounted.net.text(2), "52.47"); // 59.97 − 7.49625 = 52.47375
        assert_eq!(discounted.tax.text(2), "4.00"); // 52.47 × 7.625 % = 4.0008…
        // Yen have no minor unit; dinars three.
        let yen = line(
            Currency::parse("c", "JPY").unwrap(),
            d("3"),
            d("333.5"),
            Decimal::ZERO,
            d("10"),
        );
        assert_eq!(
            (yen.net.text(0), yen.tax.text(0)),
            ("1001".into(), "100".into())
        );
        let dinar = line(
            Currency::parse("c", "BHD").unwrap(),
            d("1"),
            d("1.2345"),
            Decimal::ZERO,
            d("10"),
        );
        assert_eq!(
            (dinar.net.text(3), dinar.tax.text(3)),
            ("1.235".into(), "0.124".into())
        );
        // A credit note is the same line negated, and rounds symmetrically.
        let credit = line(eur, d("-1"), d("2.675"), Decimal::ZERO, d("10"));
        assert_eq!(
            (credit.net.text(2), credit.tax.text(2)),
            ("-2.68".into(), "-0.27".into())
        );
        assert_eq!(totals(&[]).total, Decimal::ZERO);
        assert_eq!(sum.total.minor(eur), 1188);
        assert_eq!(yen.net.minor(Currency::parse("c", "JPY").unwrap()), 1001);
    }

    #[test]
    fn the_largest_amounts_stay_exact_and_halves_round_once() {
        let big = line(
            eur(),
            d("999999999.999"),
            d("999999999.9999"),
            Decimal::ZERO,
            d("100"),
        );
        // 999 999 999.999 × 999 999 999.9999 = 999 999 999 998 900 000.0000001
        assert_eq!(big.net.text(2), "999999999998900000.00");
        assert_eq!(big.tax.text(2), "999999999998900000.00");
        // No double rounding: 0.004999 at 2 places is 0.00, though at 3 it would be 0.005.
        let small = line(eur(), d("0.001"), d("4.999"), Decimal::ZERO, Decimal::ZERO);
        assert_eq!(small.net.text(2), "0.00");
        let half = line(eur(), d("0.001"), d("5"), Decimal::ZERO, Decimal::ZERO);
        assert_eq!(half.net.text(2), "0.01");
    }
}
