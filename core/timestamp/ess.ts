/**
 * The signingCertificateV2 signed attribute (RFC 5035 §3, required in a time-stamp token by
 * RFC 5816 §2.2.1 for SHA-256, and checked by OpenSSL's `ts -verify`). pkijs has no class for it,
 * so it is built and read here with asn1js:
 *
 *   SigningCertificateV2 ::= SEQUENCE {
 *     certs    SEQUENCE OF ESSCertIDv2,
 *     policies SEQUENCE OF PolicyInformation OPTIONAL }
 *   ESSCertIDv2 ::= SEQUENCE {
 *     hashAlgorithm AlgorithmIdentifier DEFAULT { algorithm id-sha256 },
 *     certHash      OCTET STRING,                -- hash of the whole certificate DER
 *     issuerSerial  IssuerSerial OPTIONAL }
 *   IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber CertificateSerialNumber }
 *
 * The hash algorithm is SHA-256, the DEFAULT, so DER leaves it out (X.690 §11.5). issuerSerial is
 * written too: it binds the issuer's name and the serial, and OpenSSL compares it when present.
 */
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { SemperError } from '../errors.js';
import { bytesEqual, der, OID, sha256 } from './asn1.js';

/** The signingCertificateV2 attribute naming `certificateDer` (SHA-256 of its DER, issuer and serial). */
export async function signingCertificateV2Attribute(certificateDer: Uint8Array, certificate: pkijs.Certificate): Promise<pkijs.Attribute> {
  const essCertId = new asn1js.Sequence({
    value: [
      new asn1js.OctetString({ valueHex: await sha256(certificateDer) }),
      new asn1js.Sequence({
        value: [
          // GeneralNames with one directoryName: [4] EXPLICIT, because Name is a CHOICE (X.680 §31.2.7).
          new asn1js.Sequence({ value: [new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 4 }, value: [certificate.issuer.toSchema()] })] }),
          new asn1js.Integer({ valueHex: new Uint8Array(certificate.serialNumber.valueBlock.valueHexView) }),
        ],
      }),
    ],
  });
  const value = new asn1js.Sequence({ value: [new asn1js.Sequence({ value: [essCertId] })] });
  return new pkijs.Attribute({ type: OID.signingCertificateV2, values: [value] });
}

function fail(rule: string): never {
  throw new SemperError('ERR_TIMESTAMP_INVALID', rule);
}

/**
 * Check that the signingCertificateV2 value names `certificateDer` as the signer (the first
 * ESSCertIDv2, RFC 5035 §3): SHA-256 certHash over the certificate, and issuer and serial when
 * present.
 */
export async function checkSigningCertificateV2(value: asn1js.AsnType, certificateDer: Uint8Array, certificate: pkijs.Certificate): Promise<void> {
  const rule = 'RFC 5035 §3 signingCertificateV2';
  if (!(value instanceof asn1js.Sequence)) fail(`${rule}: not a SEQUENCE`);
  const [certs] = value.valueBlock.value;
  if (!(certs instanceof asn1js.Sequence) || certs.valueBlock.value.length === 0) fail(`${rule}: no ESSCertIDv2`);
  const first = certs.valueBlock.value[0];
  if (!(first instanceof asn1js.Sequence)) fail(`${rule}: ESSCertIDv2 is not a SEQUENCE`);
  const fields = [...first.valueBlock.value];
  if (fields[0] instanceof asn1js.Sequence) {
    // An explicit hashAlgorithm: only SHA-256 is accepted (DER would have omitted it, but BER may carry it).
    const algorithm = new pkijs.AlgorithmIdentifier({ schema: fields.shift()! });
    if (algorithm.algorithmId !== OID.sha256) fail(`${rule}: ESSCertIDv2 hash algorithm ${algorithm.algorithmId} is not SHA-256`);
  }
  const certHash = fields.shift();
  if (!(certHash instanceof asn1js.OctetString)) fail(`${rule}: certHash is not an OCTET STRING`);
  if (!bytesEqual(certHash.valueBlock.valueHexView, await sha256(certificateDer))) {
    fail(`${rule}: certHash is not the SHA-256 of the signer's certificate`);
  }
  const issuerSerial = fields.shift();
  if (issuerSerial === undefined) return;
  if (!(issuerSerial instanceof asn1js.Sequence) || issuerSerial.valueBlock.value.length !== 2)
    fail(`${rule}: issuerSerial is not SEQUENCE { issuer, serialNumber }`);
  const [names, serial] = issuerSerial.valueBlock.value;
  if (!(serial instanceof asn1js.Integer) || !bytesEqual(serial.valueBlock.valueHexView, certificate.serialNumber.valueBlock.valueHexView)) {
    fail(`${rule}: issuerSerial.serialNumber is not the signer certificate's serial`);
  }
  const issuer = der(certificate.issuer.toSchema());
  const named =
    names instanceof asn1js.Sequence &&
    names.valueBlock.value.some(
      (n) =>
        n.idBlock.tagClass === 3 &&
        n.idBlock.tagNumber === 4 &&
        n instanceof asn1js.Constructed &&
        n.valueBlock.value.length === 1 &&
        bytesEqual(der(n.valueBlock.value[0]!), issuer),
    );
  if (!named) fail(`${rule}: issuerSerial.issuer does not name the signer certificate's issuer`);
}
