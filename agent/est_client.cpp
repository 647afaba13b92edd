#include "agent/est_client.h"

#include <QCoreApplication>
#include <QEventLoop>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QSslCertificate>
#include <QSslConfiguration>
#include <QSslKey>
#include <QTimer>
#include <QUrl>

#include "shared/infra/files.h"

namespace mdc::agent {

std::string HttpResult::describe() const {
  if (status == 0) return error.empty() ? "no answer" : error;
  std::string text = body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return "HTTP " + std::to_string(status) + (text.empty() ? "" : ": " + text.substr(0, 400));
}

EstClient::EstClient(std::string server, int timeoutMs) : server_(std::move(server)), timeoutMs_(timeoutMs) {
  while (!server_.empty() && server_.back() == '/') server_.pop_back();
}

Status EstClient::trustCa(const std::string& caPem) {
  if (QSslCertificate::fromData(QByteArray::fromStdString(caPem), QSsl::Pem).isEmpty())
    return Error::make("enrolment: the CA to trust is not PEM");
  caPem_ = caPem;
  trustAny_ = false;
  return {};
}

Status EstClient::useIdentity(const std::string& certPath, const std::string& keyPath) {
  auto cert = files::read(certPath);
  if (!cert) return cert.error();
  auto key = files::read(keyPath);
  if (!key) return key.error();
  certPem_ = *cert;
  keyPem_ = *key;
  return {};
}

void EstClient::basicAuth(const std::string& user, const std::string& password) {
  authorization_ = "Basic " + QByteArray::fromStdString(user + ":" + password).toBase64().toStdString();
}

HttpResult EstClient::get(const std::string& path, const std::map<std::string, std::string>& headers) {
  return run("GET", path, "", headers);
}

HttpResult EstClient::post(const std::string& path, const std::string& body, const std::string& contentType) {
  return run("POST", path, body, {{"Content-Type", contentType}});
}

HttpResult EstClient::run(const std::string& method, const std::string& path, const std::string& body,
                          const std::map<std::string, std::string>& headers) {
  HttpResult out;
  const QUrl url(QString::fromStdString(server_ + path));
  if (!url.isValid() || url.scheme() != "https") {
    out.error = "enrolment server \"" + server_ + "\": not an https:// URL";
    return out;
  }
  QNetworkRequest req(url);
  req.setAttribute(QNetworkRequest::Http2AllowedAttribute, false);
  req.setTransferTimeout(timeoutMs_);
  for (const auto& [k, v] : headers) req.setRawHeader(QByteArray::fromStdString(k), QByteArray::fromStdString(v));
  if (!authorization_.empty()) req.setRawHeader("Authorization", QByteArray::fromStdString(authorization_));
  QSslConfiguration tls = QSslConfiguration::defaultConfiguration();
  tls.setProtocol(QSsl::TlsV1_2OrLater);
  if (trustAny_) {
    tls.setPeerVerifyMode(QSslSocket::VerifyNone);
  } else {
    tls.setCaCertificates(QSslCertificate::fromData(QByteArray::fromStdString(caPem_), QSsl::Pem));
    tls.setPeerVerifyMode(QSslSocket::VerifyPeer);
  }
  if (!certPem_.empty()) {
    tls.setLocalCertificate(QSslCertificate(QByteArray::fromStdString(certPem_), QSsl::Pem));
    tls.setPrivateKey(QSslKey(QByteArray::fromStdString(keyPem_), QSsl::Ec, QSsl::Pem));
  }
  req.setSslConfiguration(tls);

  {
  QNetworkAccessManager nam;
  QNetworkReply* reply = method == "POST" ? nam.post(req, QByteArray::fromStdString(body)) : nam.get(req);
  std::string tlsErrors;
  QObject::connect(reply, &QNetworkReply::sslErrors, reply, [&](const QList<QSslError>& errors) {
    if (trustAny_) {
      reply->ignoreSslErrors();
      return;
    }
    for (const auto& e : errors) tlsErrors += (tlsErrors.empty() ? "" : "; ") + e.errorString().toStdString();
  });
  QEventLoop loop;
  QObject::connect(reply, &QNetworkReply::finished, &loop, &QEventLoop::quit);
  QTimer deadline;
  deadline.setSingleShot(true);
  QObject::connect(&deadline, &QTimer::timeout, reply, &QNetworkReply::abort);
  deadline.start(timeoutMs_ + 1000);
  if (!reply->isFinished()) loop.exec();
  out.status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
  out.body = reply->readAll().toStdString();
  for (const auto& [k, v] : reply->rawHeaderPairs()) out.headers[k.toLower().toStdString()] = v.toStdString();
  if (out.status == 0)
    out.error = "enrolment server " + server_ + ": " + reply->errorString().toStdString() +
                (tlsErrors.empty() ? "" : " (TLS: " + tlsErrors + ")");
  delete reply;
  }
  // The manager hands its connections to deleteLater: with no event loop
  // after this one (mdc-provision's exit, the agent's renewal thread), they
  // are deleted here, TLS state and all.
  QCoreApplication::sendPostedEvents(nullptr, QEvent::DeferredDelete);
  return out;
}

}  // namespace mdc::agent
