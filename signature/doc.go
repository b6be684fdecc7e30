// Package signature makes electronic signatures in the sense of 21 CFR
// Part 11 and EU GMP Annex 11 §14: a person re-authenticates, and the system
// produces a sealed statement of who signed what, when, and meaning what.
//
// # Parts and the clauses they address
//
//   - Manifestation carries the signer's user id and printed name, the system
//     time of signing, and the Meaning (performed, verified, reviewed,
//     approved, or one defined with NewMeaning), with an optional reason:
//     21 CFR 11.50(a); Annex 11 §14(c) (time and date). The time comes from
//     the Signer's clock, never from the caller.
//   - Signature binds a manifestation to the SHA-256 Digest of the exact
//     content signed and to a RecordRef, and seals all three with the
//     system's ed25519 key over a domain-separated canonical encoding
//     (SealedBytes). Verify fails with ErrContentMismatch when the content
//     changed, ErrWrongRecord when the signature was moved onto another
//     record, and ErrBadSeal when any field was forged or the key is wrong:
//     11.70 (signature/record linking); Annex 11 §14(b) (permanently linked
//     to the record). Encode and Decode store a signature beside its record,
//     and the manifestation is thereby part of every rendering of it:
//     11.50(b).
//   - Authenticator re-authenticates at every signing with two components, a
//     user id and a Secret. Within a continuous Session the first signing
//     presents both and later ones the secret alone; a session ends after an
//     idle timeout or EndSession, and then both are needed again:
//     11.200(a)(1)(i) and (ii). Signer refuses to sign without a successful
//     authentication: 11.200(a)(2).
//   - PasswordAuthenticator stores only salted argon2id hashes (Secret never
//     prints), compares in constant time, spends the same work on unknown
//     user ids, and locks a user out after Config.MaxFailures consecutive
//     failures until an administrator calls Unlock: 11.300(d) (safeguards
//     against unauthorised use). User ids are unique in a CredentialStore:
//     11.100(a), 11.300(a). SetCredential and ChangeSecret issue, reset and
//     revise secrets: 11.300(b), (c).
//   - StepUpAuthenticator signs through a site's identity provider (such as
//     OpenID Connect with prompt=login): the person re-authenticates there
//     for each signing and presents the provider's assertion, which an
//     IdentityProvider verifies. It accepts an assertion once, only for the
//     user it names and only if the authentication is at most MaxAge old.
//   - Observer is told of every attempt (success; failure with its Reason:
//     unknown user, wrong secret, locked out, session expired, …), of every
//     lockout and unlock, of credential changes and of ended sessions, so the
//     engine appends them to the audit trail; if it cannot, the operation
//     fails closed: 11.300(d) (report attempted unauthorised use), 11.10(e)
//     (audit trail); Annex 11 §12.3 (changes to access recorded) and §12.4.
//
// What is not here: who may sign what (roles, training, segregation of
// duties) is a fact of the engine's people streams, and the engine records
// granting and revoking roles there; the procedural controls of 11.100(b),
// 11.100(c), 11.300(b) (periodic review) and Annex 11 §14(a) are
// organisational.
//
// # The seam
//
// The engine holds a Signer built from an Authenticator and the system key,
// calls Sign with a Request (challenge, meaning, content, record), stores the
// returned Signature with the record, and later calls Verify with the
// record's content and reference and the public key. The package knows
// nothing of storage or of the engine.
package signature
