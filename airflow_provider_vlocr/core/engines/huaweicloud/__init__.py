"""The Huawei Cloud engine: SDK-HMAC-SHA256 signing, IAM auth, the OCR client and its HTTP helpers."""
