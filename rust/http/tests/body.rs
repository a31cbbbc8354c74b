//! allm-http against a real HTTP/1.1 server on 127.0.0.1 (a tokio listener that
//! writes scripted bytes): frame joining, the pump's clocks, failure kinds.

use std::time::Duration;

use allm_http::{Client, ClientOptions, Clock, ErrorKind, Pumped, Read, Request, Sink};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves one connection: reads the request head and body, then writes `head`,
/// then each frame of `frames` after `gap`, then `tail`; returns the URL.
async fn serve(head: &'static str, frames: Vec<Vec<u8>>, gap: Duration, tail: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1/x", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.unwrap();
            seen.extend_from_slice(&buf[..n]);
        }
        socket.write_all(head.as_bytes()).await.unwrap();
        for frame in frames {
            tokio::time::sleep(gap).await;
            socket.write_all(format!("{:x}\r\n", frame.len()).as_bytes()).await.unwrap();
            socket.write_all(&frame).await.unwrap();
            socket.write_all(b"\r\n").await.unwrap();
        }
        socket.write_all(tail).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
    });
    url
}

const CHUNKED: &str = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

fn request(url: String) -> Request {
    Request { url, headers: vec![("x-test".into(), "1".into())], body: b"{}".to_vec(), head_timeout: None }
}

/// Counts "data:" lines as events, "done" ends.
#[derive(Default)]
struct Lines {
    events: usize,
    done: bool,
}

impl Sink for Lines {
    fn feed(&mut self, data: &[u8]) -> bool {
        let text = String::from_utf8_lossy(data);
        let n = text.matches("data: ").count();
        self.events += n;
        self.done |= text.contains("data: done");
        n > 0
    }

    fn done(&self) -> bool {
        self.done
    }
}

#[tokio::test]
async fn a_read_joins_every_frame_already_there() {
    let frames = vec![b"data: a\n\n".to_vec(), b"data: b\n\n".to_vec(), b"data: c\n\n".to_vec()];
    let url = serve(CHUNKED, frames, Duration::ZERO, b"0\r\n\r\n").await;
    let mut answer = Client::new(&ClientOptions::default()).unwrap().send(request(url)).await.unwrap();
    assert_eq!(answer.status, 200);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let read = answer.body.read(Some(Duration::from_secs(2))).await.unwrap();
    assert_eq!(read, Read::Data(bytes::Bytes::from_static(b"data: a\n\ndata: b\n\ndata: c\n\n")));
    assert_eq!(answer.body.read(Some(Duration::from_secs(2))).await.unwrap(), Read::End);
}

#[tokio::test]
async fn a_ready_read_takes_every_frame_there_without_waiting() {
    let frames = vec![b"data: a\n\n".to_vec(), b"data: b\n\n".to_vec()];
    let url = serve(CHUNKED, frames, Duration::ZERO, b"0\r\n\r\n").await;
    let mut answer = Client::new(&ClientOptions::default()).unwrap().send(request(url)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut got = Vec::new();
    for _ in 0..50 {
        match answer.body.read_ready() {
            Some(Ok(Read::Data(data))) => got.extend_from_slice(&data),
            Some(Ok(Read::End)) => break,
            Some(other) => panic!("unexpected {other:?}"),
            None => tokio::task::yield_now().await, // the connection task's turn
        }
    }
    assert_eq!(got, b"data: a\n\ndata: b\n\n");
}

#[tokio::test]
async fn a_read_dropped_while_joining_loses_no_frame() {
    let frames = vec![b"data: a\n\n".to_vec(), b"data: b\n\n".to_vec(), b"data: c\n\n".to_vec()];
    let url = serve(CHUNKED, frames, Duration::ZERO, b"0\r\n\r\n").await;
    let mut answer = Client::new(&ClientOptions::default()).unwrap().send(request(url)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    {
        let read = std::pin::pin!(answer.body.read(None));
        // One poll takes the first frame and yields to the connection task; then the read is dropped.
        assert!(futures_poll_once(read).is_none());
    }
    let mut got = Vec::new();
    while let Read::Data(data) = answer.body.read(Some(Duration::from_secs(2))).await.unwrap() {
        got.extend_from_slice(&data);
    }
    assert_eq!(got, b"data: a\n\ndata: b\n\ndata: c\n\n");
}

fn futures_poll_once<F: std::future::Future>(future: std::pin::Pin<&mut F>) -> Option<F::Output> {
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.poll(&mut context) {
        std::task::Poll::Ready(out) => Some(out),
        std::task::Poll::Pending => None,
    }
}

#[tokio::test]
async fn the_pump_stops_at_the_terminal_event() {
    let frames = vec![b"data: a\n\n".to_vec(), b"data: done\n\n".to_vec(), b"data: after\n\n".to_vec()];
    let url = serve(CHUNKED, frames, Duration::from_millis(5), b"0\r\n\r\n").await;
    let mut answer = Client::new(&ClientOptions::default()).unwrap().send(request(url)).await.unwrap();
    let mut sink = Lines::default();
    let end = answer.body.pump(&mut sink, Clock::default()).await;
    assert_eq!(end.outcome, Ok(Pumped::Done));
    assert_eq!(sink.events, 2);
    assert!(end.since_event.is_some());
}

#[tokio::test]
async fn pings_do_not_reset_the_pumps_idle_clock() {
    let pings = (0..40).map(|_| b": ping\n\n".to_vec()).collect();
    let url = serve(CHUNKED, pings, Duration::from_millis(20), b"0\r\n\r\n").await;
    let mut answer = Client::new(&ClientOptions::default()).unwrap().send(request(url)).await.unwrap();
    let idle = Some(Duration::from_millis(150));
    let clock = Clock { idle, idle_left: idle, ..Clock::default() };
    let end = answer.body.pump(&mut Lines::default(), clock).await;
    assert_eq!(end.outcome, Ok(Pumped::Idle));
    assert_eq!(end.since_event, None);
}

#[tokio::test]
async fn silence_past_the_read_timeout_is_a_read_timeout() {
    let url = serve(CHUNKED, vec![b"data: a\n\n".to_vec()], Duration::from_millis(400), b"").await;
    let mut answer = Client::new(&ClientOptions::default()).unwrap().send(request(url)).await.unwrap();
    let clock = Clock { read_timeout: Some(Duration::from_millis(100)), ..Clock::default() };
    assert_eq!(answer.body.pump(&mut Lines::default(), clock).await.outcome, Ok(Pumped::ReadTimeout));
}

#[tokio::test]
async fn a_body_cut_short_is_a_remote_protocol_error() {
    let url = serve(CHUNKED, vec![b"data: a\n\n".to_vec()], Duration::ZERO, b"5\r\nda").await;
    let mut answer = Client::new(&ClientOptions::default()).unwrap().send(request(url)).await.unwrap();
    let mut last = answer.body.read(None).await;
    while let Ok(Read::Data(_)) = last {
        last = answer.body.read(None).await;
    }
    assert_eq!(last.unwrap_err().kind, ErrorKind::RemoteProtocolError);
}

#[tokio::test]
async fn a_gzip_body_that_does_not_decompress_is_a_decoding_error() {
    let head = "HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n";
    let url = serve(head, vec![b"this is not gzip at all".to_vec()], Duration::ZERO, b"0\r\n\r\n").await;
    let mut answer = Client::new(&ClientOptions::default()).unwrap().send(request(url)).await.unwrap();
    let error = answer.body.read(Some(Duration::from_secs(2))).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::DecodingError);
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error_naming_no_url() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/secret-path", listener.local_addr().unwrap());
    drop(listener);
    let error = Client::new(&ClientOptions::default()).unwrap().send(request(url)).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::ConnectError);
    assert!(!error.message.contains("secret-path"), "{}", error.message);
}

#[tokio::test]
async fn a_header_value_http_forbids_is_refused_without_echoing_it() {
    let mut bad = request("http://127.0.0.1:9/x".into());
    bad.headers.push(("authorization".into(), "Bearer sk-123\r\nx: y".into()));
    let error = Client::new(&ClientOptions::default()).unwrap().send(bad).await.unwrap_err();
    assert_eq!(error.kind, ErrorKind::LocalProtocolError);
    assert!(!error.message.contains("sk-123"));
}
