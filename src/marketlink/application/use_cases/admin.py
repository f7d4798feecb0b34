"""Administration: the accounts and shops an admin may switch on and off, or approve.

Switching off is the only lever: an inactive user cannot sign in or refresh a session,
and the tokens they hold stop working at once (through the token blocklist, which every
authenticated request consults anyway); an inactive vendor's shop disappears from the
catalog and takes no new bookings. Orders already placed keep their course (payments,
refunds and the shop's work go on). A shop waiting for approval is out of the catalog in
the same way until an admin approves it.

Each of these actions, by an admin, leaves an entry in the audit trail: containers.py
wraps them in `audit.Audited`.
"""

from __future__ import annotations

from dataclasses import replace

from marketlink.application.actors import Actor
from marketlink.application.errors import CannotDeactivateSelf, NotFound, WeakPassword
from marketlink.application.ports import (
    Page,
    PageRequest,
    PasswordStrength,
    TokenBlocklist,
    UnitOfWorkFactory,
)
from marketlink.application.use_cases.accounts import SESSION_LIFETIME, Register, RegisterUser
from marketlink.application.use_cases.audit import AuditSubject, AuditTrail
from marketlink.domain.audit import DONE, AuditAction, AuditObject, refused
from marketlink.domain.users import Role, User, VendorProfile, check_password, valid_email


class ListUsers:
    """Every account, active or not, oldest first."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, actor: Actor, page: PageRequest) -> Page[User]:
        actor.require(Role.ADMIN)
        with self._uow() as uow:
            return uow.users.list(page)


class SetUserActive:
    """Switches an account off (its tokens refused at once) or on (its sessions back)."""

    # A switch-off outlives every token issued before it; refresh and login refuse new ones.
    REVOKE_FOR_SECONDS = int(SESSION_LIFETIME.total_seconds())

    def __init__(self, uow: UnitOfWorkFactory, blocklist: TokenBlocklist) -> None:
        self._uow = uow
        self._blocklist = blocklist

    def __call__(self, actor: Actor, user_id: int, is_active: bool) -> User:
        actor.require(Role.ADMIN)
        if user_id == actor.user_id and not is_active:
            # Without this, the last admin could lock everyone out of the admin API.
            raise CannotDeactivateSelf()
        with self._uow() as uow:
            user = uow.users.get(user_id)
            if user is None:
                raise NotFound("User not found.")
            if user.is_active != is_active:
                user.is_active = is_active
                uow.users.save(user)
                uow.commit()
        # After the transaction (the SQL blocklist is another connection), and even when
        # nothing changed: repeating a request whose blocklist write failed repairs it.
        # Until then refresh and login still refuse a switched-off user.
        if is_active:
            self._blocklist.restore_user(user_id)
        else:
            self._blocklist.revoke_user(user_id, self.REVOKE_FOR_SECONDS)
        return user


class SetVendorActive:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, actor: Actor, vendor_id: int, is_active: bool) -> VendorProfile:
        actor.require(Role.ADMIN)
        with self._uow() as uow:
            vendor = uow.vendors.get(vendor_id)
            if vendor is None:
                raise NotFound("Vendor not found.")
            if vendor.is_active != is_active:
                vendor.is_active = is_active
                uow.vendors.save(vendor)
                uow.commit()
        return vendor


class ApproveVendor:
    """Lets a shop waiting for approval (VENDOR_APPROVAL=manual) into the catalog.

    Approving a shop approved already changes nothing (and succeeds).
    """

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def __call__(self, actor: Actor, vendor_id: int) -> VendorProfile:
        actor.require(Role.ADMIN)
        with self._uow() as uow:
            vendor = uow.vendors.get(vendor_id)
            if vendor is None:
                raise NotFound("Vendor not found.")
            if not vendor.is_approved:
                vendor.is_approved = True
                uow.vendors.save(vendor)
                uow.commit()
        return vendor


# The command line's createsuperuser ---------------------------------------------------------


class CreateAdmin:
    """A new admin account (`marketlink create-admin`), with a password hard to guess.

    Registration's rules first (a valid email, the length every account needs), then the
    admin's own: refused as WeakPassword when too short or too common.
    """

    def __init__(self, register: Register, strength: PasswordStrength) -> None:
        self._register = register
        self._strength = strength

    def __call__(self, new: RegisterUser) -> User:
        valid_email(new.email)
        check_password(new.password)
        known = (new.email, new.first_name, new.last_name)
        weakness = self._strength.weakness(new.password, known)
        if weakness is not None:
            raise WeakPassword(weakness)
        return self._register(replace(new, role=Role.ADMIN), allow_admin=True)


class PromoteToAdmin:
    """Makes an existing account an admin (`create-admin --promote`), from the command line.

    Recorded in the audit trail as `user.promote` without an actor (nobody signed in),
    with the change, or alone when refused (an unknown email).
    """

    def __init__(self, uow: UnitOfWorkFactory, trail: AuditTrail) -> None:
        self._uow = uow
        self._trail = trail

    def __call__(self, email: str) -> User:
        with self._uow() as uow:
            user = uow.users.get_by_email(User.normalize_email(email))
            if user is not None and user.id is not None:
                subject = AuditSubject(
                    AuditAction.USER_PROMOTE, AuditObject.USER, str(user.id), f"was {user.role}"
                )
                if user.role is not Role.ADMIN:
                    user.role = Role.ADMIN
                    uow.users.save(user)
                uow.audit.add(self._trail.entry(None, subject, DONE))
                uow.commit()
                return user
        refusal = NotFound("No account has this email.")
        subject = AuditSubject(AuditAction.USER_PROMOTE, AuditObject.USER, email)
        self._trail.write(self._trail.entry(None, subject, refused(refusal.code)))
        raise refusal
