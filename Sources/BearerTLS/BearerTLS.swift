internal import COpenSSL
internal import COpenSSLShims
