//! `GetMetricWidgetImage`: a line chart drawn into an RGB buffer and
//! encoded as PNG (the `png` crate). White background, grid, axes, one
//! colour per series (CloudWatch's palette), no text (no font rendering).

use crate::expr::Series;

const PALETTE: [[u8; 3]; 6] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
];

struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Canvas {
    fn set(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < self.w && (y as usize) < self.h {
            let i = (y as usize * self.w + x as usize) * 3;
            self.px[i..i + 3].copy_from_slice(&c);
        }
    }

    /// Bresenham, two pixels thick.
    fn line(&mut self, (mut x0, mut y0): (i64, i64), (x1, y1): (i64, i64), c: [u8; 3]) {
        let dx = (x1 - x0).abs();
        let dy = -(y1 - y0).abs();
        let sx = if x0 < x1 { 1 } else { -1 };
        let sy = if y0 < y1 { 1 } else { -1 };
        let mut err = dx + dy;
        loop {
            self.set(x0, y0, c);
            self.set(x0, y0 + 1, c);
            if x0 == x1 && y0 == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x0 += sx;
            }
            if e2 <= dx {
                err += dx;
                y0 += sy;
            }
        }
    }
}

/// The chart of `series` over `[start, end]` (epoch seconds) as PNG bytes.
pub fn render(
    width: u32,
    height: u32,
    start: i64,
    end: i64,
    series: &[Series],
) -> Result<Vec<u8>, String> {
    let (w, h) = (
        width.clamp(1, 2000) as usize,
        height.clamp(1, 2000) as usize,
    );
    let mut cv = Canvas {
        w,
        h,
        px: vec![255; w * h * 3],
    };
    let (left, right, top, bottom) = (40i64, w as i64 - 10, 10i64, h as i64 - 25);
    let values = series.iter().flat_map(|s| s.points.values().copied());
    let (mut lo, mut hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if lo > 0.0 {
        lo = 0.0;
    }
    if hi <= lo {
        hi = lo + 1.0;
    }
    hi += (hi - lo) * 0.05;
    let grid = [230, 230, 230];
    for i in 0..=4 {
        let y = bottom - (bottom - top) * i / 4;
        cv.line((left, y), (right, y), grid);
    }
    let axis = [90, 90, 90];
    cv.line((left, top), (left, bottom), axis);
    cv.line((left, bottom), (right, bottom), axis);
    let span = (end - start).max(1) as f64;
    let to_px = |t: i64, v: f64| -> (i64, i64) {
        let x = left + ((t - start) as f64 / span * (right - left) as f64).round() as i64;
        let y = bottom - ((v - lo) / (hi - lo) * (bottom - top) as f64).round() as i64;
        (x, y)
    };
    for (n, s) in series.iter().enumerate() {
        let c = PALETTE[n % PALETTE.len()];
        let pts: Vec<(i64, i64)> = s.points.iter().map(|(t, v)| to_px(*t, *v)).collect();
        if pts.len() == 1 {
            let (x, y) = pts[0];
            for d in -2..=2 {
                cv.line((x - 2, y + d), (x + 2, y + d), c);
            }
        }
        for pair in pts.windows(2) {
            cv.line(pair[0], pair[1], c);
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w as u32, h as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(&cv.px).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_has_signature_and_size() {
        let s = Series {
            label: "x".into(),
            points: [(0, 1.0), (60, 5.0), (120, 2.0)].into_iter().collect(),
        };
        let png = render(300, 200, 0, 120, &[s]).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 300);
    }
}
