"""A team's service story (服务故事) as an admin writes it: Chinese first, English beside it, and
no personal phone number, since the story is shown on the team's public page."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

TITLE_MAX = 200
BODY_MAX = 4_000
HOTLINE = "95598"  # State Grid's service hotline: the only number a public page shows

# A mainland mobile number (11 digits from 1[3-9], spaced or not, maybe +86) or a landline with
# its area code (0xx-xxxxxxxx); other digits (dates, counts, the hotline) are left alone.
_PHONE = re.compile(
    r"(?<!\d)(?:(?:\+|00)?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?!\d)"
    r"|(?<!\d)0\d{2,3}[\s-]?\d{7,8}(?!\d)"
)


def phone_numbers_in(text: str) -> list[str]:
    """The personal phone numbers in `text`, as written."""
    return [found.group(0) for found in _PHONE.finditer(text)]


class StoryText(BaseModel):
    """What a story says; a phone number in it is refused, not hidden, so the admin knows."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=TITLE_MAX, description="标题, in Chinese")
    body: str = Field(min_length=1, max_length=BODY_MAX, description="正文, in Chinese")
    title_en: str = Field(default="", max_length=TITLE_MAX, description="the title in English")
    body_en: str = Field(default="", max_length=BODY_MAX, description="the story in English")

    @field_validator("title", "body", "title_en", "body_en")
    @classmethod
    def _no_phone_number(cls, text: str) -> str:
        found = phone_numbers_in(text)
        if found:
            raise ValueError(
                f"a story is public and may not carry a phone number ({found[0]}); "
                f"the page offers {HOTLINE} instead"
            )
        return text
