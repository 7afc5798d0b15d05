/** Common Norwegian given names and surnames (after SSB's name statistics), for synthetic people. */
export const FEMALE_NAMES = [
  'Anne', 'Inger', 'Kari', 'Marit', 'Ingrid', 'Liv', 'Eva', 'Berit', 'Astrid', 'Bjørg', 'Hilde', 'Anna', 'Solveig',
  'Marianne', 'Randi', 'Ida', 'Nina', 'Maria', 'Elisabeth', 'Kristin', 'Nora', 'Emma', 'Sofie', 'Olivia', 'Ella',
  'Sara', 'Ingeborg', 'Maja', 'Frida', 'Thea', 'Emilie', 'Tone', 'Heidi', 'Silje', 'Camilla', 'Hanne', 'Aisha', 'Linh',
];
export const MALE_NAMES = [
  'Jan', 'Per', 'Bjørn', 'Ole', 'Lars', 'Kjell', 'Knut', 'Arne', 'Svein', 'Hans', 'Thomas', 'Geir', 'Erik', 'Morten',
  'Jon', 'Terje', 'Tor', 'Andreas', 'Martin', 'Anders', 'Jakob', 'Emil', 'Noah', 'Oliver', 'Filip', 'William', 'Lukas',
  'Henrik', 'Aksel', 'Magnus', 'Sander', 'Johannes', 'Eirik', 'Kristian', 'Mohammed', 'Piotr',
];
export const SURNAMES = [
  'Hansen', 'Johansen', 'Olsen', 'Larsen', 'Andersen', 'Pedersen', 'Nilsen', 'Kristiansen', 'Jensen', 'Karlsen',
  'Johnsen', 'Pettersen', 'Eriksen', 'Berg', 'Haugen', 'Hagen', 'Johannessen', 'Andreassen', 'Jacobsen', 'Dahl',
  'Jørgensen', 'Halvorsen', 'Henriksen', 'Lund', 'Sørensen', 'Jakobsen', 'Moen', 'Gundersen', 'Iversen', 'Strand',
  'Solberg', 'Svendsen', 'Eide', 'Knutsen', 'Martinsen', 'Paulsen', 'Bakken', 'Kristoffersen', 'Mathisen', 'Lie',
  'Amundsen', 'Nguyen', 'Rasmussen', 'Ali', 'Lunde', 'Solheim', 'Berge', 'Moe', 'Nygård', 'Bakke', 'Fredriksen',
  'Holm', 'Lien', 'Hauge', 'Christensen', 'Nielsen', 'Evensen', 'Sæther', 'Aas', 'Myhre', 'Ahmed', 'Haugland',
];
export const STREETS = [
  'Storgata', 'Kirkegata', 'Skolegata', 'Parkveien', 'Fjordveien', 'Bjørkeveien', 'Granveien', 'Furuveien', 'Solveien',
  'Haugveien', 'Elvegata', 'Strandveien', 'Torggata', 'Jernbanegata', 'Nyveien', 'Bakkeveien', 'Åsveien', 'Skogveien',
  'Møllegata', 'Prestegårdsveien', 'Idrettsveien', 'Sjøgata', 'Rådhusgata', 'Lyngveien', 'Blåbærstien', 'Rognveien',
];
