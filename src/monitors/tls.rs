//! The certificate probe: connects (to an address the guard allows, the
//! one it checked, so DNS rebinding does not help), shakes hands and reads
//! the peer certificate's notAfter. The chain is not judged here (an
//! expiring self-signed certificate is still worth a warning).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_rustls::rustls;
use tokio_rustls::rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use super::http::Probe;
use crate::domain::monitor::{short_error, Outcome, Spec};
use crate::webhooks::client::{resolve_allowed, Allowed};

/// Takes any certificate: only its dates are read.
#[derive(Debug)]
struct AnyCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn connector() -> tokio_rustls::TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// The notAfter (Unix ms) of a DER certificate.
pub fn not_after(der: &[u8]) -> Result<i64, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| format!("unreadable certificate ({e})"))?;
    Ok(cert.validity().not_after.timestamp() * 1000)
}

pub async fn check(allow: &Allowed, spec: &Spec) -> Probe {
    let failed = |e: String| Probe {
        outcome: Outcome::Failed(short_error(&e)),
        response_ms: None,
        status: None,
    };
    let host = spec.str("host").unwrap_or("").to_string();
    let port = spec.int("port").unwrap_or(443) as u16;
    let started = Instant::now();
    let run = async {
        let addrs = match host.parse::<std::net::IpAddr>() {
            Ok(ip) => match allow.refuses(ip) {
                Some(why) => return Err(format!("{ip} is a {why} address; monitors go to public addresses only")),
                None => vec![std::net::SocketAddr::new(ip, port)],
            },
            Err(_) => resolve_allowed(&host, allow, "monitors").await?,
        };
        let addr = std::net::SocketAddr::new(addrs[0].ip(), port);
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let name = ServerName::try_from(host.clone()).map_err(|_| format!("{host} is not a server name"))?;
        let tls = connector()
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake failed: {e}"))?;
        let (_, conn) = tls.get_ref();
        let cert = conn
            .peer_certificates()
            .and_then(|c| c.first())
            .ok_or("the server sent no certificate")?;
        not_after(cert.as_ref())
    };
    let timeout = Duration::from_millis(spec.timeout_ms().max(1) as u64);
    match tokio::time::timeout(timeout, run).await {
        Err(_) => failed(format!("no handshake within {} ms", timeout.as_millis())),
        Ok(Err(e)) => failed(e),
        Ok(Ok(expires_at)) => Probe {
            outcome: Outcome::Ok {
                expires_at: Some(expires_at),
            },
            response_ms: Some(started.elapsed().as_millis() as i64),
            status: None,
        },
    }
}
