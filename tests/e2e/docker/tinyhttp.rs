//! A tiny HTTP server for container tests, built as a static binary (no
//! base image needed: the test image is `FROM scratch`).
//!
//!   GET /        -> "tinyhttp <GREETING>\n"
//!   GET /<path>  -> the file at /<path>, or 404
//!
//! Listens on 0.0.0.0:$PORT (default 8000).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

fn main() {
    let port = std::env::var("PORT").unwrap_or_else(|_| "8000".into());
    let listener = TcpListener::bind(format!("0.0.0.0:{port}")).expect("bind");
    println!("tinyhttp listening on {port}");
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                return;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
            loop {
                let mut header = String::new();
                match reader.read_line(&mut header) {
                    Ok(n) if n > 2 => continue,
                    _ => break,
                }
            }
            let (status, body) = if path == "/" {
                let greeting = std::env::var("GREETING").unwrap_or_default();
                ("200 OK", format!("tinyhttp {greeting}\n").into_bytes())
            } else {
                match std::fs::read(&path) {
                    Ok(b) => ("200 OK", b),
                    Err(_) => ("404 Not Found", b"not found\n".to_vec()),
                }
            };
            let mut out = &stream;
            let _ = write!(
                out,
                "HTTP/1.0 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = out.write_all(&body);
        });
    }
}
