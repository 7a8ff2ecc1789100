//! WS-Discovery (the ONVIF variant, 2005/04): one Probe for `NetworkVideoTransmitter`s sent
//! to the multicast group 239.255.255.250:3702 (or one host, for tests and routed LANs), and
//! the ProbeMatches that answer it within the timeout, read with `roxmltree`. Answers to
//! another probe (RelatesTo) are ignored; malformed ones are reported, not fatal.

use std::net::SocketAddr;
use std::time::Duration;

use super::soap::escape;

/// Where ONVIF devices listen for probes.
pub const MULTICAST: &str = "239.255.255.250:3702";

/// One device that answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Its device service URL (the first http(s) one of its XAddrs).
    pub xaddr: String,
    /// Its `onvif://www.onvif.org/...` scopes (name, hardware, location).
    pub scopes: Vec<String>,
    /// Where the answer came from.
    pub from: SocketAddr,
}

/// What came back for one probe.
#[derive(Debug, Default)]
pub struct Answers {
    pub matches: Vec<Match>,
    /// Answers that could not be read, with why.
    pub unreadable: Vec<String>,
}

fn message_id() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the system's random source");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "uuid:{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The Probe message.
pub fn probe_message(id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <e:Envelope xmlns:e=\"http://www.w3.org/2003/05/soap-envelope\" \
         xmlns:w=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\" \
         xmlns:d=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\" \
         xmlns:dn=\"http://www.onvif.org/ver10/network/wsdl\">\
         <e:Header><w:MessageID>{}</w:MessageID>\
         <w:To e:mustUnderstand=\"true\">urn:schemas-xmlsoap-org:ws:2005:04:discovery</w:To>\
         <w:Action e:mustUnderstand=\"true\">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</w:Action>\
         </e:Header><e:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe>\
         </e:Body></e:Envelope>",
        escape(id)
    )
}

/// Read one datagram: `Ok(None)` if it answers another probe.
pub fn parse_matches(text: &str, id: &str, from: SocketAddr) -> Result<Option<Vec<Match>>, String> {
    let doc = roxmltree::Document::parse(text).map_err(|e| format!("not valid XML ({e})"))?;
    let named = |n: &roxmltree::Node<'_, '_>, name: &str| n.tag_name().name() == name;
    let relates = doc
        .descendants()
        .find(|n| named(n, "RelatesTo"))
        .and_then(|n| n.text())
        .map(str::trim);
    if relates != Some(id) {
        return Ok(None);
    }
    let Some(pm) = doc.descendants().find(|n| named(n, "ProbeMatches")) else {
        return Err("not a ProbeMatches answer".into());
    };
    let mut out = Vec::new();
    for m in pm.children().filter(|n| named(n, "ProbeMatch")) {
        let words = |name: &str| -> Vec<String> {
            m.children()
                .find(|n| named(n, name))
                .and_then(|n| n.text())
                .map(|t| t.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default()
        };
        let xaddr = words("XAddrs")
            .into_iter()
            .find(|a| a.starts_with("http://") || a.starts_with("https://"))
            .ok_or("a ProbeMatch without an http:// XAddr")?;
        out.push(Match {
            xaddr,
            scopes: words("Scopes"),
            from,
        });
    }
    if out.is_empty() {
        return Err("a ProbeMatches answer with no ProbeMatch".into());
    }
    Ok(Some(out))
}

/// Send one probe to `target` and collect answers for `wait`.
pub async fn probe(target: SocketAddr, wait: Duration) -> std::io::Result<Answers> {
    let bind: SocketAddr = if target.ip().is_loopback() {
        "127.0.0.1:0".parse().expect("literal")
    } else {
        "0.0.0.0:0".parse().expect("literal")
    };
    let sock = tokio::net::UdpSocket::bind(bind).await?;
    if target.ip().is_multicast() {
        sock.set_multicast_ttl_v4(1)?;
    }
    let id = message_id();
    sock.send_to(probe_message(&id).as_bytes(), target).await?;
    let deadline = tokio::time::Instant::now() + wait;
    let mut answers = Answers::default();
    let mut buf = vec![0u8; 65536];
    loop {
        let got = tokio::time::timeout_at(deadline, sock.recv_from(&mut buf)).await;
        let Ok(got) = got else { break };
        let (n, from) = got?;
        let text = String::from_utf8_lossy(&buf[..n]);
        match parse_matches(&text, &id, from) {
            Ok(Some(ms)) => {
                for m in ms {
                    if !answers.matches.iter().any(|x| x.xaddr == m.xaddr) {
                        answers.matches.push(m);
                    }
                }
            }
            Ok(None) => {}
            Err(why) => answers
                .unreadable
                .push(format!("the WS-Discovery answer from {from} is {why}")),
        }
    }
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_matches_are_read_and_others_ignored() {
        let from: SocketAddr = "127.0.0.1:3702".parse().unwrap();
        let id = message_id();
        assert!(id.starts_with("uuid:") && id.len() == 41, "{id}");
        roxmltree::Document::parse(&probe_message(&id)).unwrap();
        let answer = |relates: &str, body: &str| {
            format!(
                "<e:Envelope xmlns:e='http://www.w3.org/2003/05/soap-envelope' \
                 xmlns:w='http://schemas.xmlsoap.org/ws/2004/08/addressing' \
                 xmlns:d='http://schemas.xmlsoap.org/ws/2005/04/discovery'><e:Header>\
                 <w:RelatesTo>{relates}</w:RelatesTo></e:Header><e:Body>{body}</e:Body></e:Envelope>"
            )
        };
        let ok = answer(
            &id,
            "<d:ProbeMatches><d:ProbeMatch><d:Scopes>onvif://www.onvif.org/name/Cam \
             onvif://www.onvif.org/hardware/X1</d:Scopes><d:XAddrs>urn:x \
             http://10.0.0.5/onvif/device_service</d:XAddrs></d:ProbeMatch></d:ProbeMatches>",
        );
        let ms = parse_matches(&ok, &id, from).unwrap().unwrap();
        assert_eq!(ms[0].xaddr, "http://10.0.0.5/onvif/device_service");
        assert_eq!(ms[0].scopes.len(), 2);
        assert_eq!(parse_matches(&ok, "uuid:other", from), Ok(None));
        assert_eq!(
            parse_matches(&answer(&id, "<d:Hello/>"), &id, from),
            Err("not a ProbeMatches answer".into())
        );
        assert_eq!(
            parse_matches(
                &answer(
                    &id,
                    "<d:ProbeMatches><d:ProbeMatch><d:XAddrs>urn:x</d:XAddrs></d:ProbeMatch>\
                     </d:ProbeMatches>"
                ),
                &id,
                from
            ),
            Err("a ProbeMatch without an http:// XAddr".into())
        );
        assert!(parse_matches("<a><b></a>", &id, from)
            .unwrap_err()
            .starts_with("not valid XML ("));
    }
}
