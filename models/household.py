"""A household on the register (困难户登记): its electricity account, where it is, and whether
it is a hardship household, whose calls the dispatch center answers at hardship priority."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.hubei import DIVISION_BY_CODE

YES = frozenset({"true", "yes", "1", "是", "y"})
NO = frozenset({"false", "no", "0", "否", "n", ""})


class Household(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    account: str = Field(
        min_length=1,
        max_length=32,
        pattern=r"^[0-9A-Za-z-]+$",
        description="户号: the electricity account number",
    )
    address: str = Field(min_length=1, max_length=500, pattern=r"^[^\x00]*$")
    division: str = Field(description="everycall's division code, e.g. wuhan")
    hardship: bool = Field(description="on the hardship register: answered at hardship priority")
    note: str = Field(default="", max_length=500, pattern=r"^[^\x00]*$")

    @field_validator("division")
    @classmethod
    def _known_division(cls, value: str) -> str:
        if value not in DIVISION_BY_CODE:
            raise ValueError(f"{value!r} is not a Hubei division ({', '.join(DIVISION_BY_CODE)})")
        return value

    @field_validator("hardship", mode="before")
    @classmethod
    def _yes_or_no(cls, value: object) -> object:
        """A spreadsheet's 是/否 and true/false alike; anything else is refused."""
        if not isinstance(value, str):
            return value
        word = value.strip().lower()
        if word in YES:
            return True
        if word in NO:
            return False
        raise ValueError(f"{value!r}: write 是 or 否 (true or false)")
