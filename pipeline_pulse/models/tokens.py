"""OAuth tokens of the Zoho SDK, encrypted at rest (see services/zoho/token_store.py)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pipeline_pulse.models.base import Base, UTCDateTime, utcnow


class ZohoOAuthToken(Base):
    __tablename__ = "zoho_oauth_tokens"
    __table_args__ = {"comment": "Zoho OAuth tokens used by the SDK; secrets are Fernet-encrypted, never plain."}

    id: Mapped[str] = mapped_column(String(64), primary_key=True, comment="Token id assigned by the token store.")
    user_name: Mapped[str | None] = mapped_column(String(255), index=True, comment="Zoho user e-mail.")
    client_id: Mapped[str | None] = mapped_column(String(255), comment="OAuth client id.")
    client_secret_enc: Mapped[str | None] = mapped_column(Text, comment="Encrypted OAuth client secret.")
    refresh_token_enc: Mapped[str | None] = mapped_column(Text, comment="Encrypted refresh token.")
    refresh_token_hash: Mapped[str | None] = mapped_column(
        String(64), index=True, comment="sha256 of the refresh token, for lookups without decrypting."
    )
    access_token_enc: Mapped[str | None] = mapped_column(Text, comment="Encrypted access token.")
    access_token_hash: Mapped[str | None] = mapped_column(String(64), index=True, comment="sha256 of the access token.")
    grant_token_enc: Mapped[str | None] = mapped_column(Text, comment="Encrypted grant token.")
    grant_token_hash: Mapped[str | None] = mapped_column(String(64), index=True, comment="sha256 of the grant token.")
    expiry_time: Mapped[int | None] = mapped_column(BigInteger, comment="Access-token expiry, epoch milliseconds.")
    redirect_url: Mapped[str | None] = mapped_column(String(1024), comment="OAuth redirect URL.")
    api_domain: Mapped[str | None] = mapped_column(String(1024), comment="API domain from the token response.")
    version: Mapped[int] = mapped_column(Integer, default=1, comment="Bumped on every save (compare-and-set).")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, comment="Last save.")


class ZohoCreditLedger(Base):
    __tablename__ = "zoho_credit_ledger"
    __table_args__ = {
        "comment": "Zoho API credits spent per UTC day, shared by every process that calls Zoho, so the daily "
        "budget holds across concurrent runs (pipeline_pulse.services.zoho.credit_ledger)."
    }

    ledger_key: Mapped[str] = mapped_column(
        String(64), primary_key=True, comment="Which Zoho client spends (the token store's token id)."
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True, comment="UTC day the credits count against.")
    credits_spent: Mapped[int] = mapped_column(BigInteger, nullable=False, comment="Credits charged that day.")
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, nullable=False, comment="Last charge or refund (UTC)."
    )
