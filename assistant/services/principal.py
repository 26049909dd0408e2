"""Who acts: the signed-in portal user as services see it, and the roles (no database access here)."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.services.errors import ForbiddenError

ADMIN, PRISON, BUREAU = "admin", "prison", "bureau"
ROLE_NAMES = {ADMIN: "系统管理员", PRISON: "监狱民警", BUREAU: "司法局工作人员"}


@dataclass(frozen=True)
class Principal:
    """The signed-in user as request handlers see it (detached from the database session)."""

    user_id: int
    username: str
    display_name: str
    role: str
    prison: str | None
    region_code: str | None
    csrf_token: str = ""

    @property
    def scope(self) -> str:
        """The county code or prison this user is bound to ('' for admins)."""
        return self.region_code or self.prison or ""

    @property
    def county(self) -> str:
        """The county code of a bureau account (the bureau role is given only with one; else refused)."""
        if not self.region_code:
            raise ForbiddenError("此账号没有绑定县（市、区）")
        return self.region_code

    @property
    def home_prison(self) -> str:
        """The prison of a prison-staff account (the prison role is given only with one; else refused)."""
        if not self.prison:
            raise ForbiddenError("此账号没有绑定监狱")
        return self.prison

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role, self.role)
